import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import {
  DatabaseUnavailableError,
  DuplicateMigrationError,
  InvalidMigrationError,
  InvalidOptionsError,
  Migration,
  MixedPrefixWidthError,
} from '../../src/auto-migration';
import { bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { tempDir } from '../helpers/temp-dir';

/**
 * Every refusal happens before the database is touched: the file must stay byte-identical
 * and no journal, lock or sidecar file may appear beside it.
 */
describe('refusals leave the database untouched', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: string;
  let bytes: Buffer;
  beforeEach(() => {
    dir = tempDir();
    db = dir.file('app.db');
    const conn = new BetterSqlite3(db);
    conn.exec("CREATE TABLE precious (v TEXT); INSERT INTO precious VALUES ('keep me')");
    conn.close();
    bytes = readFileSync(db);
  });
  afterEach(() => dir.remove());

  function expectUntouched(otherFiles: string[] = []): void {
    expect(readFileSync(db).equals(bytes)).toBe(true);
    expect(readdirSync(dir.path).sort()).toEqual(['app.db', ...otherFiles].sort());
  }

  it('refuses two classes with the same name, naming both', async () => {
    class First {
      up() {}
    }
    class Second {
      up() {}
    }
    Migration({ name: '001_same', version: '1.0.0' })(First);
    Migration({ name: '001_same', version: '1.0.0' })(Second);
    const { error } = await bootFailure({ database: db, failOnError: false }, { migrations: [First, Second] });
    expect(error).toBeInstanceOf(DuplicateMigrationError);
    expect(error.message).toMatch(/"001_same" is declared by (First and Second|Second and First)/);
    expectUntouched();
  });

  it('refuses an invalid version, naming the class and the value', async () => {
    const bad = migration('001_bad', undefined, { version: '1.0' });
    const { error } = await bootFailure({ database: db, failOnError: false }, { migrations: [bad] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.message).toContain('M001_bad ("001_bad"): version "1.0" is not a semantic version');
    expectUntouched();
  });

  it('refuses numeric prefixes of different widths, naming them', async () => {
    const { error } = await bootFailure({ database: db }, { migrations: [migration('2_x'), migration('10_y')] });
    expect(error).toBeInstanceOf(MixedPrefixWidthError);
    expect(error.message).toContain('1 digit: 2_x');
    expect(error.message).toContain('2 digits: 10_y');
    expectUntouched();
  });

  it('refuses a class without up()', async () => {
    class NoUp {}
    Migration({ name: '001_no_up', version: '1.0.0' })(NoUp);
    const { error } = await bootFailure({ database: db }, { migrations: [NoUp] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.message).toContain('NoUp ("001_no_up"): has no up(db) method');
    expectUntouched();
  });

  it('refuses invalid options with one error naming every bad field', async () => {
    const { error } = await bootFailure(
      {
        database: db,
        lock: { timeoutMs: -5, staleAfterMs: 'soon' as never },
        backup: { keep: 0, dir: '' },
        transactionMode: 'some' as never,
        pragmas: { journal_mode: 'wal; DROP TABLE precious' as never, busy_timeout: 1.5 },
        colour: 'red',
      } as never,
      { migrations: [migration('001_a')] },
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    const fields = (error as InvalidOptionsError).problems.map((p) => p.split(':')[0]);
    expect(new Set(fields)).toEqual(
      new Set([
        'lock.timeoutMs',
        'lock.staleAfterMs',
        'backup.keep',
        'backup.dir',
        'transactionMode',
        'pragmas.journal_mode',
        'pragmas.busy_timeout',
        'colour',
      ]),
    );
    for (const field of fields) expect(error.message).toContain(`- ${field}:`);
    expectUntouched();
  });

  it('refuses a file that is not a SQLite database, naming it', async () => {
    writeFileSync(db, 'this is a text file, not a database\n'.repeat(200));
    bytes = readFileSync(db);
    const { error } = await bootFailure({ database: db }, { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', path: db });
    expect(error.message).toContain(`"${db}"`);
    expect(error.message).toMatch(/not a database/);
    expectUntouched();
  });

  it('refuses a path that cannot be opened (its parent is a regular file), naming it', async () => {
    const parent = dir.file('not-a-folder');
    writeFileSync(parent, 'x');
    const target = `${parent}/app.db`;
    const { error } = await bootFailure({ database: target }, { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toContain(`Cannot open the database "${target}": "${parent}" is a file, not a folder`);
    expect(existsSync(target)).toBe(false);
    expectUntouched(['not-a-folder']);
  });
});

import BetterSqlite3, { type Database } from 'better-sqlite3';
import { AutoMigrationService, MigrationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure, UsesDatabase } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

type Attempt = { name: string; failed_at: string | null; error: string | null };

/** Runs `sql` on the file through a connection of its own (the module's is closed). */
function execOn(file: string, sql: string): void {
  const db = new BetterSqlite3(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function attempts(file: string): Attempt[] {
  return inspect(file, (d) => d.prepare('SELECT name, failed_at, error FROM migration_attempts ORDER BY name').all() as Attempt[]);
}

/*
 * A transactional migration whose up() ends the runner's transaction itself (COMMIT, or ROLLBACK,
 * perhaps BEGIN again): what it ran before that may be committed without a history row, so it is
 * reported as such and left as an interrupted migration, never as "rolled back" or "applied".
 */
describe.each(['each', 'all'] as const)('a migration that ends the transaction itself (transactionMode "%s")', (transactionMode) => {
  const t = useTempDatabase();
  const options = () => ({ database: t.db, backup: false as const, transactionMode });
  const first = () => migration('001_first');
  const later = () => migration('003_later');

  /** Runs `up` as 002_escapes between 001_first and 003_later; returns the failure and its log. */
  async function start(up: (db: Database) => void) {
    return bootFailure(options(), { migrations: [first(), migration('002_escapes', up), later()] });
  }

  /** What every case shares: reported as escaped, left as interrupted, refused at the next start, nothing later ran. */
  async function expectInterrupted(error: Error, log: string[], cause: RegExp) {
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_escapes', outcome: 'escaped' });
    expect(error.message).toContain("It ended the runner's transaction itself");
    expect(error.message).toContain('may be committed');
    expect(error.message).toContain('later starts refuse (INTERRUPTED_MIGRATION)');
    expect(error.message).not.toContain('rolled back and no history row');
    const warning = log.find((line) => line.startsWith('WARN') && line.includes('Migration "002_escapes" ended the runner\'s transaction itself'));
    expect(warning).toMatch(cause);
    expect(warning).toMatch(/What it ran before its COMMIT may be committed.*recorded as interrupted/);

    expect(attempts(t.db)).toEqual([{ name: '002_escapes', failed_at: expect.any(String), error: expect.stringMatching(cause) }]);
    expect(historyNames(t.db)).not.toContain('002_escapes');
    expect(tableNames(t.db)).not.toContain(tableFor('003_later'));

    const again = await bootFailure(options(), { migrations: [first(), migration('002_escapes'), later()] });
    expect(again.error).toMatchObject({ code: 'INTERRUPTED_MIGRATION', migration: '002_escapes' });
    expect(tableNames(t.db)).not.toContain(tableFor('003_later'));
    expect(tableNames(t.db)).not.toContain(tableFor('002_escapes'));
  }

  it('COMMIT, more statements, then a throw: says what may be committed, not "rolled back"', async () => {
    const { error, logger } = await start((d) => {
      d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; CREATE TABLE after_commit (id INTEGER)');
      throw new Error('boom after commit');
    });
    expect(error.message).toContain('failed: boom after commit.');
    await expectInterrupted(error, logger.lines, /boom after commit \(thrown after up\(\) ended the transaction it runs in \(COMMIT or ROLLBACK\)\)/);
    // Before the COMMIT: committed. After it, without BEGIN, each statement committed on its own.
    expect(tableNames(t.db)).toEqual(expect.arrayContaining(['before_commit', 'after_commit']));
    // With 'all', the COMMIT took 001_first and its history row along; with 'each' it was committed before.
    expect(historyNames(t.db)).toEqual(['001_first']);
    if (transactionMode === 'all') expect(logger.lines.join('\n')).toContain('were committed with it and are recorded as applied: 001_first');
  });

  it('COMMIT; BEGIN and no throw: refused instead of recorded as applied; what follows BEGIN is rolled back', async () => {
    const { error, logger } = await start((d) => {
      d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; BEGIN; CREATE TABLE after_begin (id INTEGER)');
    });
    await expectInterrupted(error, logger.lines, /up\(\) ended the transaction it runs in \(COMMIT or ROLLBACK, then BEGIN again\)/);
    expect(tableNames(t.db)).toContain('before_commit');
    expect(tableNames(t.db)).not.toContain('after_begin');
    expect(historyNames(t.db)).toEqual(['001_first']);
  });

  it('ROLLBACK; BEGIN and no throw: refused; with "all" the rest of the batch before it was rolled back too', async () => {
    const { error, logger } = await start((d) => {
      d.exec('CREATE TABLE rolled (id INTEGER); ROLLBACK; BEGIN; CREATE TABLE after_begin (id INTEGER)');
    });
    await expectInterrupted(error, logger.lines, /up\(\) ended the transaction it runs in \(COMMIT or ROLLBACK, then BEGIN again\)/);
    expect(tableNames(t.db)).not.toContain('rolled');
    expect(tableNames(t.db)).not.toContain('after_begin');
    if (transactionMode === 'all') {
      expect(historyNames(t.db)).toEqual([]);
      expect(tableNames(t.db)).not.toContain(tableFor('001_first'));
      expect(logger.lines.join('\n')).toContain('The migrations before it in its batch were rolled back');
    } else {
      expect(historyNames(t.db)).toEqual(['001_first']);
    }
  });

  it('when it cannot be recorded as interrupted, says so: the next start would run it again', async () => {
    await bootApp(options(), { migrations: [first()] }).then(({ app }) => app.close());
    execOn(t.db, "CREATE TRIGGER refuse_attempts BEFORE INSERT ON migration_attempts BEGIN SELECT RAISE(ABORT, 'attempts refused'); END");

    const { error, logger } = await start((d) => {
      d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; BEGIN');
    });

    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_escapes', outcome: 'escaped-unrecorded' });
    expect(error.message).toContain("It ended the runner's transaction itself");
    expect(error.message).toContain('It could NOT be recorded as interrupted, so the next start would run it again: check the database before starting again');
    expect(error.message).not.toContain('later starts refuse (INTERRUPTED_MIGRATION)');
    expect(logger.lines.join('\n')).toContain('Could not record "002_escapes" as interrupted: attempts refused');
    expect(attempts(t.db)).toEqual([]);
    expect(tableNames(t.db)).toContain('before_commit');
  });

  it('once resolved by an operator, the next start applies the later migrations', async () => {
    await start((d) => {
      d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; BEGIN');
    });
    const { app } = await bootApp({ ...options(), failOnError: false }, { migrations: [first(), migration('002_escapes'), later()] });
    await app.get(AutoMigrationService).resolve('002_escapes', 'applied');
    await app.close();
    const { app: next } = await bootApp(options(), { migrations: [first(), migration('002_escapes'), later()] });
    await next.close();
    expect(historyNames(t.db)).toEqual(['001_first', '002_escapes', '003_later']);
    expect(attempts(t.db)).toEqual([]);
  });
});

describe('a migration that ends the transaction itself, with ":memory:" (one connection shared with the app)', () => {
  it.each(['each', 'all'] as const)(
    'leaves the shared connection out of any transaction and with foreign keys enforced again (transactionMode "%s")',
    async (transactionMode) => {
      const escapes = migration('002_escapes', (d) => {
        d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; BEGIN; CREATE TABLE after_begin (id INTEGER)');
      });
      const { app } = await bootApp(
        { database: ':memory:', failOnError: false, transactionMode, pragmas: { foreign_keys: true } },
        { migrations: [migration('001_first'), escapes, migration('003_later')], providers: [UsesDatabase] },
      );
      try {
        const db = app.get(UsesDatabase).db;
        const status = await app.get(AutoMigrationService).getStatus();
        expect(status).toMatchObject({ state: 'failed', lastError: { code: 'MIGRATION_FAILED', migration: '002_escapes' } });
        expect(db.inTransaction).toBe(false);
        expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
        const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        expect(names).toContain('before_commit');
        expect(names).not.toContain('after_begin');
        expect(names).not.toContain(tableFor('003_later'));
        expect(db.prepare('SELECT name FROM migration_attempts').pluck().all()).toEqual(['002_escapes']);
      } finally {
        await app.close();
      }
    },
  );
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteCauses } from '../../src/auto-migration/driver/sqlite/sqlite-cause';
import { causeAdvice, registerCauseClassifier } from '../../src/auto-migration/errors/cause-advice';
import { tempDir } from '../helpers/temp-dir';

/*
 * The advice for a file that is not a database at all (SQLITE_NOTADB): nothing can open it, so it
 * never sends the operator to `restore` (which boots the module and opens the file); it gives
 * commands that work on the files, for whatever the caller knows. Real files in a temp folder.
 */

// As the SQLite driver does when it loads.
registerCauseClassifier(sqliteCauses);

const NOTADB = Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });

describe('advice for a file that is not a database (SQLITE_NOTADB)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('without the backup folder known: names the default folder and backup.dir, and never the restore command', () => {
    const database = join(dir.path, 'plain', 'app.db');
    const advice = causeAdvice(NOTADB, { database })!;
    expect(advice).toContain('nothing can open it, `nest-auto-migration restore` and `status` included');
    expect(advice).not.toMatch(/restore <file> --force|restore \S+ --force/);
    expect(advice).toMatch(new RegExp(`\`mv ${database.replace(/\./g, '\\.')} ${database.replace(/\./g, '\\.')}\\.damaged-\\d{8}T\\d{6}Z\``));
    expect(advice).toContain(`the last app.db.<time>.<migration>.backup in the backup folder (backup.dir; by default ${join(dir.path, 'plain', 'backups')})`);
  });

  it('with no backup in the folder: says so and how the data may still be recovered', () => {
    const advice = causeAdvice(NOTADB, { database: dir.file('b.db'), backups: { folder: dir.file('backups'), newest: null } })!;
    expect(advice).toContain(`it has no backup in ${dir.file('backups')}`);
    expect(advice).toContain('SQLite format 3\\0');
    expect(advice).toContain('.recover');
    expect(advice).not.toMatch(/\bmv |\bcp /);
  });

  it('a path with spaces and quotes is quoted so that the commands run as given: the files move, the backup lands', () => {
    const folder = join(dir.path, "it's a folder");
    const backups = join(folder, 'my backups');
    mkdirSync(backups, { recursive: true });
    const database = join(folder, 'app.db');
    writeFileSync(database, 'garbage garbage! and the rest');
    writeFileSync(`${database}-journal`, 'a leftover journal');
    const newest = 'app.db.20260101T000000000Z.001_a.backup';
    writeFileSync(join(backups, newest), 'SQLite format 3\0 backup bytes');

    const advice = causeAdvice(NOTADB, { database, backups: { folder: backups, newest } })!;
    const command = /as the user it runs as: `([^`]+)`/.exec(advice)?.[1];
    expect(command).toContain("'\\''");
    expect(command).toMatch(/-journal/);
    execFileSync('sh', ['-c', command!]);

    expect(readFileSync(database, 'latin1')).toBe('SQLite format 3\0 backup bytes');
    expect(existsSync(`${database}-journal`)).toBe(false);
    const kept = /the damaged file is kept as (app\.db\.damaged-\d{8}T\d{6}Z), its -journal file with it/.exec(advice)?.[1];
    expect(kept).toBeDefined();
    expect(readFileSync(join(folder, kept!), 'latin1')).toBe('garbage garbage! and the rest');
    expect(readFileSync(join(folder, `${kept}-journal`), 'latin1')).toBe('a leftover journal');
  });

  it('a damaged file SQLite can still open (SQLITE_CORRUPT) is still restored with the command', () => {
    const corrupt = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    const advice = causeAdvice(corrupt, {
      database: dir.file('c.db'),
      backups: { folder: dir.file('backups'), newest: 'c.db.20260101T000000000Z.none.backup' },
    })!;
    expect(advice).toContain('`nest-auto-migration restore c.db.20260101T000000000Z.none.backup --force`');
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, relative } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type CliRun, killStrayChildren, REPO_ROOT, runCli, spawnProcess } from '../helpers/child-process';
import { CLEARED_LEASE, historyNames, inspect, tableNames, writeSql } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * `nest-auto-migration` end to end: the CLI runs from source in a child process (ts-node) and
 * boots test/fixtures/cli/app.module.ts against a real SQLite file in a temp folder. Each spawn
 * costs a second or two, so a test runs several commands, and independent ones in parallel.
 */

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'app.module.ts');
const ESM_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'esm', 'app.module.js');
const MAIN_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'main.ts');
const ALL = ['001_create_users', '002_create_posts', '003_index_and_vacuum', '004_create_tags', '005_seed_tags'];

/** Fails with the run's command line and output unless it exited with `code`. */
function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

/** The run failed (exit 2) with exactly one error line, `error CODE: ...`, and no stack trace; returns that line. */
function expectOneErrorLine(run: CliRun, code: string): string {
  expectExit(run, 2);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('error '));
  if (errors.length !== 1 || !errors[0].startsWith(`error ${code}: `)) {
    throw new Error(`expected one line "error ${code}: ..." on stderr\n${run.describe()}`);
  }
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return errors[0];
}

/** The backup files in the test folder's backups/ (of `database`'s file name only, if given). */
function backups(dir: string, database?: string): string[] {
  const folder = join(dir, 'backups');
  const files = existsSync(folder)
    ? readdirSync(folder)
        .filter((f) => f.endsWith('.backup'))
        .sort()
    : [];
  return database === undefined ? files : files.filter((f) => f.startsWith(`${basename(database)}.`));
}

/** Applied migrations in order; none while the module has not created its tables yet. */
function applied(db: string): string[] {
  return tableNames(db).includes('migrations') ? historyNames(db) : [];
}

function leaseRow(db: string): Record<string, unknown> {
  return inspect(db, (d) => d.prepare('SELECT * FROM migration_lock WHERE id = 1').get() as Record<string, unknown>);
}

describe('nest-auto-migration', () => {
  const t = useTempDatabase();
  afterEach(killStrayChildren);

  /** Runs the CLI on the fixture module (unless `args` name one) with the test's database (or `database`). */
  const cli = (args: string[], env: Record<string, string> = {}, database = t.db) =>
    runCli(args.includes('--module') ? args : [...args, '--module', FIXTURE], { cwd: t.dir.path, env: { DATABASE: database, ...env } });

  describe('status', () => {
    it('exits 1 while migrations are pending, as a table and as pure JSON on stdout, applying nothing', async () => {
      const table = await cli(['status']);
      expectExit(table, 1);
      expect(table.stdout).toContain('State: pending (5 migrations to apply');
      for (const name of ALL) expect(table.stdout).toMatch(new RegExp(`^  ${name} +\\d+\\.\\d+\\.\\d+ +\\S`, 'm'));
      expect(table.stdout).toContain('Applied (0)');
      expect(table.stdout).toContain('Lock: free');
      expect(table.stdout).toContain('Last backup: none');
      // What the app's code prints while booting (console.log / info) went to stderr.
      expect(table.stdout).not.toContain('TagSource');
      expect(table.stderr).toContain('TagSource constructed (console.log from app code)');
      expect(table.stderr).toContain('TagSource bootstrapped (console.info from app code)');

      const json = await cli(['status', '--json']);
      expectExit(json, 1);
      // The whole of stdout is the document; the module's log lines went to stderr.
      const status = JSON.parse(json.stdout);
      expect(status).toMatchObject({ state: 'pending', applied: [], unknown: [], lastError: null, lock: { held: false }, lastBackup: null });
      expect(status.pending.map((m: { name: string }) => m.name)).toEqual(ALL);
      expect(json.stderr).toContain('[AutoMigration]');
      // The automatic run at bootstrap is off under the CLI.
      expect(applied(t.db)).toEqual([]);
    });
  });

  describe('up', () => {
    it('applies up to and including --to, then the rest after a backup, logging progress on stderr', async () => {
      const first = await cli(['up', '--to', '002_create_posts']);
      expectExit(first, 0);
      expect(first.stdout).toMatch(/^Applied 2 migrations:\n {2}001_create_users {2}\(1\.0\.0, \d+ ms\)\n {2}002_create_posts /m);
      expect(first.stdout).toContain('Still pending: 003_index_and_vacuum, 004_create_tags, 005_seed_tags');
      expect(first.stderr).toMatch(/\[1\/2\] 001_create_users/);
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 2));
      expect(backups(t.dir.path)).toEqual([]); // the database was new and empty

      const rest = await cli(['up']);
      expectExit(rest, 0);
      expect(rest.stdout).toMatch(/^Applied 3 migrations:/m);
      expect(rest.stdout).not.toContain('001_create_users');
      // console.debug inside a migration's injected service: on stderr, not in the answer.
      expect(rest.stdout).not.toContain('TagSource');
      expect(rest.stderr).toContain('TagSource.tags() called (console.debug from a migration)');
      expect(historyNames(t.db)).toEqual(ALL);
      expect(backups(t.dir.path)).toEqual([expect.stringMatching(/^app\.db\.\d{8}T\d{9}Z\.002_create_posts\.backup$/)]);
      expect(inspect(t.db, (db) => db.prepare('SELECT label FROM tags ORDER BY id').all())).toEqual([{ label: 'news' }, { label: 'tech' }]);

      const [again, table] = await Promise.all([cli(['up']), cli(['status'])]);
      expectExit(again, 0);
      expect(again.stdout).toContain('Nothing to apply: the schema is up to date.');

      // status exits 0 once up to date.
      expectExit(table, 0);
      expect(table.stdout).toContain('State: up-to-date');
      expect(table.stdout).toContain('Pending (0)');
      for (const name of ALL) expect(table.stdout).toMatch(new RegExp(`^  ${name} +\\S+ +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +\\d+ ms`, 'm'));
      const [backup] = backups(t.dir.path);
      expect(table.stdout).toMatch(new RegExp(`^Last backup: ${backup.replace(/\./g, '\\.')} \\(\\d+\\.\\d KiB, `, 'm'));
    });

    it('--dry-run prints every statement with timings, transaction: false included, and leaves the live file byte-identical', async () => {
      expectExit(await cli(['up', '--to', '001_create_users']), 0);
      const before = readFileSync(t.db);

      const run = await cli(['up', '--dry-run']);
      expectExit(run, 0);
      expect(run.stdout).toContain('the live file was not touched');
      // Each statement behind its time (from its start to the next one's), in a column.
      expect(run.stdout).toMatch(/^002_create_posts {2}\(1\.1\.0, \d+ ms\)\n {2}Create posts table\n {4}[\d.]+ ms {2}CREATE TABLE posts \(/m);
      expect(run.stdout).toMatch(
        /^003_index_and_vacuum {2}\(1\.1\.0, transaction: false, \d+ ms\)\n {2}Index posts, then compact\n {4} *[\d.]+ ms {2}CREATE INDEX idx_posts_user ON posts \(user_id\);\n {4} *[\d.]+ ms {2}VACUUM;$/m,
      );
      expect(run.stdout).toMatch(/^ {4} *[\d.]+ ms {2}INSERT INTO tags \(label\) VALUES \('news'\);$/m);
      // A transactional migration's commit is timed on a line of its own, not added to its last statement.
      expect(run.stdout).toMatch(/^ {4} *[\d.]+ ms {2}\(foreign-key check and COMMIT\)$/m);
      expect(run.stdout).not.toContain('TagSource');
      expect(run.stdout).not.toContain('CREATE TABLE users');
      expect(run.stdout).toContain('4 migrations would be applied.');
      expect(run.stdout).toContain('Side effects of injected services are not rehearsed');

      expect(readFileSync(t.db).equals(before)).toBe(true);
      expect(leaseRow(t.db)).toEqual(CLEARED_LEASE);
      expect(backups(t.dir.path)).toEqual([]);
      expect(historyNames(t.db)).toEqual(['001_create_users']);
      expect(tableNames(t.db)).not.toContain('posts');
      // No copy left behind either.
      expect(readdirSync(t.dir.path).filter((f) => !/^app\.db(-wal|-shm|-journal|\.migration-lock)?$/.test(f) && f !== 'backups')).toEqual([]);
    });

    it('a failing migration exits 2 with one error line naming it (also with failOnError: false, and in a dry run)', async () => {
      const other = t.dir.file('other.db');
      const dry = t.dir.file('dry.db');
      expectExit(await cli(['up', '--to', '001_create_users'], {}, dry), 0);
      const dryBefore = readFileSync(dry);

      const [failed, tolerated, dryRun, unknown] = await Promise.all([
        cli(['up'], { FAIL_MIGRATION: '004_create_tags' }),
        cli(['up'], { FAIL_MIGRATION: '004_create_tags', FAIL_ON_ERROR: 'false' }, other),
        cli(['up', '--dry-run'], { FAIL_MIGRATION: '002_create_posts' }, dry),
        // A typo in --to is refused before anything runs, whatever failOnError says.
        cli(['up', '--to', '004_create_tag'], { FAIL_ON_ERROR: 'false' }, t.dir.file('unknown.db')),
      ]);

      expect(expectOneErrorLine(failed, 'MIGRATION_FAILED')).toContain('004_create_tags failed on purpose');
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 3));

      // failOnError: false resolves with state "failed"; the command fails all the same.
      expect(expectOneErrorLine(tolerated, 'MIGRATION_FAILED')).toContain('004_create_tags');
      expect(tolerated.stdout).toContain('Still pending: 004_create_tags, 005_seed_tags');
      expect(historyNames(other)).toEqual(ALL.slice(0, 3));

      expect(expectOneErrorLine(dryRun, 'MIGRATION_FAILED')).toMatch(
        /002_create_posts failed on purpose .*on the dry-run copy; the live database is unchanged/,
      );
      expect(dryRun.stdout).toMatch(/^002_create_posts {2}\(1\.1\.0, \d+ ms\) {2}FAILED$/m);
      expect(readFileSync(dry).equals(dryBefore)).toBe(true);
      expect(historyNames(dry)).toEqual(['001_create_users']);

      expect(expectOneErrorLine(unknown, 'UNKNOWN_MIGRATION')).toContain('004_create_tag');
      expect(applied(t.dir.file('unknown.db'))).toEqual([]);
    });
  });

  describe('down', () => {
    it('reverts the newest migration after a backup, and refuses, changing nothing, when a down() is missing on the way', async () => {
      const partial = t.dir.file('partial.db');
      const empty = t.dir.file('empty.db');
      await Promise.all([cli(['up']).then((r) => expectExit(r, 0)), cli(['up', '--to', '003_index_and_vacuum'], {}, partial).then((r) => expectExit(r, 0))]);
      const before = readFileSync(t.db);
      expect(backups(t.dir.path, t.db)).toEqual([]); // migrated from an empty file: nothing to back up

      const [refused, to, nothing] = await Promise.all([
        cli(['down', '--steps', '2']),
        cli(['down', '--to', '002_create_posts'], {}, partial),
        cli(['down'], {}, empty),
      ]);
      expect(expectOneErrorLine(refused, 'MISSING_DOWN')).toContain('"004_create_tags" (CreateTags) has no down()');
      expect(readFileSync(t.db).equals(before)).toBe(true);
      expect(historyNames(t.db)).toEqual(ALL);
      // Refused before anything was written, the backup included.
      expect(backups(t.dir.path, t.db)).toEqual([]);

      // Nothing applied: nothing to revert, and that is no error.
      expectExit(nothing, 0);
      expect(nothing.stdout).toContain('Nothing to revert: no migration is applied.');
      expect(applied(empty)).toEqual([]);

      // --to NAME: that one and every one applied after it, newest first (a transaction: false one included).
      expectExit(to, 0);
      expect(to.stdout).toMatch(/^Reverted 2 migrations, newest first:\n.*\n {2}003_index_and_vacuum +\d+ ms\n {2}002_create_posts +\d+ ms$/m);
      expect(historyNames(partial)).toEqual(['001_create_users']);
      expect(tableNames(partial)).not.toContain('posts');

      const one = await cli(['down']);
      expectExit(one, 0);
      expect(one.stdout).toMatch(/^ {2}005_seed_tags +\d+ ms$/m);
      const backup = /^Backup written before reverting: (\S+)$/m.exec(one.stdout)?.[1];
      expect(backups(t.dir.path, t.db)).toEqual([backup]);
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 4));
      expect(inspect(t.db, (db) => db.prepare('SELECT COUNT(*) AS n FROM tags').get())).toEqual({ n: 0 });
    });
  });

  describe('status checks, resolve and repair', () => {
    it('status exits 2 on an interrupted migration and a changed checksum; resolve and repair settle them and apply nothing', async () => {
      // A transaction: false migration that fails leaves an interrupted attempt behind.
      expectOneErrorLine(await cli(['up'], { FAIL_MIGRATION: '003_index_and_vacuum' }), 'MIGRATION_FAILED');
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 2));

      const [interrupted, nothing] = await Promise.all([cli(['status']), cli(['resolve', '001_create_users', '--applied'])]);
      // status runs the checks a start makes: the state is failed, exit 2, the error on stderr.
      expect(expectOneErrorLine(interrupted, 'INTERRUPTED_MIGRATION')).toContain('003_index_and_vacuum');
      expect(interrupted.stdout).toContain('State: failed (INTERRUPTED_MIGRATION: see "Last error" below)');
      expect(interrupted.stdout).toMatch(/^Last error: INTERRUPTED_MIGRATION \(003_index_and_vacuum\)\n {2}Interrupted migration, possibly half-applied /m);
      expect(interrupted.stdout).toContain('With the command line: `nest-auto-migration resolve 003_index_and_vacuum --applied`');
      expectOneErrorLine(nothing, 'NOTHING_TO_RESOLVE');

      const resolved = await cli(['resolve', '003_index_and_vacuum', '--rolled-back']);
      expectExit(resolved, 0);
      expect(resolved.stdout).toContain('Cleared the interrupted attempt of 003_index_and_vacuum: it runs again at the next `up`.');
      expect(resolved.stdout).toContain('State: pending');
      expect(resolved.stdout).toContain('3 migrations pending: run `nest-auto-migration up` to apply pending migrations.');
      // { apply: false }: the command line leaves applying to `up`.
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 2));

      writeSql(t.db, "UPDATE migrations SET checksum = 'edited', source_hash = NULL WHERE name = '001_create_users'");
      const mismatch = await cli(['status', '--json']);
      expect(expectOneErrorLine(mismatch, 'CHECKSUM_MISMATCH')).toContain('001_create_users');
      expect(JSON.parse(mismatch.stdout)).toMatchObject({ state: 'failed', lastError: { code: 'CHECKSUM_MISMATCH' } });

      const repaired = await cli(['repair']);
      expectExit(repaired, 0);
      expect(repaired.stdout).toContain('Accepted the current checksums of: 001_create_users');
      expect(repaired.stdout).toMatch(/Repair recorded at \d{4}-/);
      const again = await cli(['repair']);
      expectExit(again, 0);
      expect(again.stdout).toContain('No checksum differed.');
      expect(again.stdout).toContain('Nothing to repair: nothing was written.');
      expect(again.stdout).not.toContain('Repair recorded');
      expect(repaired.stdout).toContain('State: pending');
      expect(repaired.stdout).toContain('run `nest-auto-migration up` to apply pending migrations.');
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 2));
      const stored = inspect(t.db, (db) => db.prepare("SELECT checksum FROM migrations WHERE name = '001_create_users'").get() as { checksum: string });
      expect(stored.checksum).toMatch(/^[0-9a-f]{64}$/);

      const up = await cli(['up']);
      expectExit(up, 0);
      expect(up.stdout).toMatch(/^Applied 3 migrations:\n {2}003_index_and_vacuum /m);
      expect(historyNames(t.db)).toEqual(ALL);
    });
  });

  describe('backup, restore, archive', () => {
    it('backup writes one now; restore refuses without --force and a path, and with --force puts the backup back; archive', async () => {
      expectExit(await cli(['up']), 0);
      const [made, disabled] = await Promise.all([cli(['backup']), cli(['backup'], { BACKUP: 'false' }, t.dir.file('no-backups.db'))]);
      expect(expectOneErrorLine(disabled, 'BACKUP_DISABLED')).toMatch(/backup/i);
      expect(backups(t.dir.path, 'no-backups.db')).toEqual([]);
      expectExit(made, 0);
      const file = /^Backup written: (\S+) \(\d+\.\d KiB, \d{4}-[\d-]+T[\d:.]+Z\)$/m.exec(made.stdout)?.[1];
      expect(backups(t.dir.path)).toContain(file);

      writeSql(t.db, 'INSERT INTO users (email) VALUES (?)', 'grace@example.com');
      const before = readFileSync(t.db);
      const [unforced, path] = await Promise.all([cli(['restore', file!]), cli(['restore', `../${file}`, '--force'])]);
      expect(expectOneErrorLine(unforced, 'RESTORE_REFUSED')).toMatch(/Everything written since then is lost/);
      expectOneErrorLine(path, 'RESTORE_REFUSED');
      expect(readFileSync(t.db).equals(before)).toBe(true);

      const restored = await cli(['restore', file!, '--force']);
      expectExit(restored, 0);
      expect(restored.stdout).toContain(`Restored ${file}`);
      expect(inspect(t.db, (db) => db.prepare('SELECT email FROM users ORDER BY id').all())).toEqual([{ email: 'ada@example.com' }]);

      // archive --older-than 0s moves every history row; they still count as applied.
      const archived = await cli(['archive', '--older-than', '0s']);
      expectExit(archived, 0);
      expect(archived.stdout).toContain(`Archived 5 migrations applied before `);
      expect(archived.stdout).toContain(ALL.join(', '));
      const status = await cli(['status', '--json']);
      expectExit(status, 0);
      const body = JSON.parse(status.stdout);
      expect(body.state).toBe('up-to-date');
      expect(body.applied.map((m: { name: string; archived: boolean }) => [m.name, m.archived])).toEqual(ALL.map((name) => [name, true]));
    });

    it('backup on an unchanged database reuses the newest backup and says so; after a change it writes a new one', async () => {
      expectExit(await cli(['up']), 0);
      const first = await cli(['backup']);
      expectExit(first, 0);
      const file = /^Backup written: (\S+) \(/m.exec(first.stdout)?.[1];
      expect(backups(t.dir.path)).toEqual([file]);

      const again = await cli(['backup']);
      expectExit(again, 0);
      expect(again.stdout).toMatch(
        new RegExp(`^Backup reused: ${file!.replace(/\./g, '\\.')} \\(\\d+\\.\\d KiB, [\\dT:.Z-]+\\) already holds this state; no new copy written$`, 'm'),
      );
      expect(again.stdout).not.toContain('Backup written');
      expect(backups(t.dir.path)).toEqual([file]);

      writeSql(t.db, 'INSERT INTO users (email) VALUES (?)', 'grace@example.com');
      const changed = await cli(['backup']);
      expectExit(changed, 0);
      const newer = /^Backup written: (\S+) \(/m.exec(changed.stdout)?.[1];
      expect(newer).not.toBe(file);
      expect(backups(t.dir.path)).toEqual([file, newer]);
    });
  });

  describe('unlock', () => {
    it('clears a lease row whose holder is gone, and refuses while a live process holds the lock', async () => {
      expectExit(await cli(['up', '--to', '001_create_users']), 0);
      const empty = await cli(['unlock']);
      expectExit(empty, 0);
      expect(empty.stdout).toContain('Nothing to clear');

      const now = new Date().toISOString();
      writeSql(
        t.db,
        "UPDATE migration_lock SET in_progress = 1, started_at = ?, owner_host = 'gone-host', owner_pid = 999999, owner_instance = 'dead', heartbeat_at = ? WHERE id = 1",
        now,
        now,
      );
      const stale = await cli(['unlock']);
      expectExit(stale, 0);
      expect(stale.stdout).toContain('Cleared the lease row of gone-host/999999 (instance dead)');
      expect(leaseRow(t.db)).toEqual(CLEARED_LEASE);

      // A live holder: another process holds the lock file and has written the lease row.
      const holder = spawnProcess(
        process.execPath,
        [
          '-e',
          `const Database = require('better-sqlite3');
           const lock = new Database(process.env.LOCK_FILE, { timeout: 0 });
           lock.exec('BEGIN IMMEDIATE');
           const db = new Database(process.env.DB);
           const now = new Date().toISOString();
           db.prepare("UPDATE migration_lock SET in_progress = 1, started_at = ?, owner_host = ?, owner_pid = ?, owner_instance = 'holder-child', heartbeat_at = ? WHERE id = 1")
             .run(now, require('node:os').hostname(), process.pid, now);
           db.close();
           process.stdout.write('HOLDING\\n');
           setInterval(() => {}, 1000);`,
        ],
        { cwd: REPO_ROOT, env: { LOCK_FILE: `${realpathSync(t.db)}.migration-lock`, DB: t.db } },
      );
      await holder.waitForOutput('HOLDING', 30_000);

      const [refused, status] = await Promise.all([cli(['unlock']), cli(['status'])]);
      expect(expectOneErrorLine(refused, 'LOCK_HELD')).toContain(String(holder.pid));
      expect(leaseRow(t.db)).toMatchObject({ in_progress: 1, owner_pid: holder.pid });
      expect(status.stdout).toContain(`Lock: held by ${hostname()}/${holder.pid} (instance holder-child), since `);
    });
  });

  describe('baseline', () => {
    it('records migrations up to NAME as applied without running them; up then runs only the later ones', async () => {
      // A database that existed before the module: its own users and posts tables.
      const existing = new BetterSqlite3(t.db);
      existing.exec(`
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
        INSERT INTO users (email) VALUES ('legacy@example.com');
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL);
      `);
      existing.close();

      const [run, unknown] = await Promise.all([
        cli(['baseline', '--to', '002_create_posts']),
        cli(['baseline', '--to', '002_create_post'], {}, t.dir.file('unknown.db')),
      ]);
      expectExit(run, 0);
      expect(expectOneErrorLine(unknown, 'UNKNOWN_MIGRATION')).toContain('002_create_post');
      expect(applied(t.dir.file('unknown.db'))).toEqual([]);
      expect(run.stdout).toMatch(
        /^Recorded 2 migrations as applied without running them \(at [\d-]+T[\d:.]+Z\):\n {2}001_create_users\n {2}002_create_posts$/m,
      );
      expect(historyNames(t.db)).toEqual(ALL.slice(0, 2));

      const up = await cli(['up']);
      const again = await cli(['baseline', '--to', '001_create_users']);
      expectExit(up, 0);
      expect(up.stdout).toMatch(/^Applied 3 migrations:\n {2}003_index_and_vacuum .*\n {2}004_create_tags .*\n {2}005_seed_tags /m);
      expect(historyNames(t.db)).toEqual(ALL);
      expect(inspect(t.db, (db) => db.prepare('SELECT email FROM users').all())).toEqual([{ email: 'legacy@example.com' }]);
      expectOneErrorLine(again, 'BASELINE_REFUSED');
    });
  });

  describe('SQL-file migrations', () => {
    it('up --dry-run shows the statements of a .sql file (it runs whole); up applies it after the classes', async () => {
      const sqlDir = t.dir.file('sql');
      mkdirSync(sqlDir);
      writeFileSync(
        join(sqlDir, '006_audit_users.sql'),
        [
          '-- version: 1.3.0',
          '-- description: Audit new users',
          'CREATE TABLE audit (id INTEGER PRIMARY KEY, email TEXT NOT NULL);',
          'CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN',
          '  INSERT INTO audit (email) VALUES (NEW.email);',
          'END;',
          '',
        ].join('\n'),
      );
      writeFileSync(join(sqlDir, '006_audit_users.down.sql'), 'DROP TRIGGER users_audit;\nDROP TABLE audit;\n');
      const env = { SQL_DIR: sqlDir };

      const dry = await cli(['up', '--dry-run'], env);
      expectExit(dry, 0);
      expect(dry.stdout).toContain('6 migrations would be applied.');
      // The file runs whole, as one exec(); SQLite reports each statement it parsed from it, each
      // with its time: the header comments lead the first, the trigger body stays in one piece.
      expect(dry.stdout).toMatch(
        /^006_audit_users {2}\(1\.3\.0, \d+ ms\)\n {2}Audit new users\n {4} *[\d.]+ ms {2}-- version: 1\.3\.0\n {4} +-- description: Audit new users\n {4} +CREATE TABLE audit \(.*\);\n {4} *[\d.]+ ms {2}CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN\n {4} + {2}INSERT INTO audit \(email\) VALUES \(NEW\.email\);\n {4} +END;\n {4} *[\d.]+ ms {2}\(foreign-key check and COMMIT\)\n\n/m,
      );
      expect(applied(t.db)).toEqual([]);

      const up = await cli(['up'], env);
      expectExit(up, 0);
      expect(up.stdout).toMatch(/^Applied 6 migrations:\n(?: {2}00[1-5]_.*\n){5} {2}006_audit_users {2}\(1\.3\.0, \d+ ms\)$/m);
      expect(historyNames(t.db)).toEqual([...ALL, '006_audit_users']);
      // The trigger works: the seed user of 001 came before it, a new one is audited.
      writeSql(t.db, 'INSERT INTO users (email) VALUES (?)', 'grace@example.com');
      expect(inspect(t.db, (db) => db.prepare('SELECT email FROM audit').all())).toEqual([{ email: 'grace@example.com' }]);
    });
  });

  describe('loading the module', () => {
    it('finds it through package.json "nestAutoMigration.module", and loads an ES module file', async () => {
      const spec = `${relative(t.dir.path, FIXTURE)}#AppModule`;
      writeFileSync(join(t.dir.path, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', nestAutoMigration: { module: spec } }));
      const [fromConfig, esm] = await Promise.all([
        runCli(['status', '--json'], { cwd: t.dir.path, env: { DATABASE: t.db } }),
        runCli(['status', '--json', '--module', `${ESM_FIXTURE}#EsmAppModule`], { cwd: t.dir.path, env: { DATABASE: t.dir.file('esm.db') } }),
      ]);
      expectExit(fromConfig, 1);
      expect(JSON.parse(fromConfig.stdout).pending).toHaveLength(5);
      expectExit(esm, 1);
      expect(JSON.parse(esm.stdout).pending).toHaveLength(5);

      writeFileSync(join(t.dir.path, 'package.json'), JSON.stringify({ name: 'app', nestAutoMigration: { module: 42, dir: 'x' } }));
      const invalid = await runCli(['status'], { cwd: t.dir.path, env: { DATABASE: t.db } });
      expect(expectOneErrorLine(invalid, 'CONFIG_INVALID')).toMatch(/"module" must be a non-empty string; unknown key "dir"/);
    });

    it('exits 2 with one line naming the file and export when the module cannot be loaded or booted', async () => {
      const notADatabase = t.dir.file('text.db');
      writeFileSync(notADatabase, 'this is not a SQLite database, it is a text file of more than a hundred bytes. '.repeat(4));
      const [missing, verbose, noExport, notClass, broken, notWired, otherCopy, none, unopenable] = await Promise.all([
        runCli(['status', '--module', 'dist/missing.module.js'], { cwd: t.dir.path, env: { DATABASE: t.db } }),
        runCli(['status', '--module', 'dist/missing.module.js', '--verbose'], { cwd: t.dir.path, env: { DATABASE: t.db } }),
        cli(['status', '--module', `${FIXTURE}#Nope`]),
        cli(['status', '--module', `${FIXTURE}#NOT_A_MODULE`]),
        cli(['status', '--module', `${FIXTURE}#BrokenModule`]),
        cli(['status', '--module', `${FIXTURE}#PlainModule`]),
        cli(['status', '--module', `${FIXTURE}#OtherCopyModule`]),
        runCli(['status'], { cwd: t.dir.path, env: { DATABASE: t.db } }),
        cli(['status', '--json'], {}, notADatabase),
      ]);
      expect(expectOneErrorLine(missing, 'MODULE_NOT_LOADABLE')).toContain(join(t.dir.path, 'dist', 'missing.module.js'));
      // --verbose adds the stack trace below the error line.
      expectExit(verbose, 2);
      expect(verbose.stderr).toMatch(/^error MODULE_NOT_LOADABLE: cannot find the module file .*\n\S*Error: cannot find the module file[^]*\n\s+at /m);
      expect(expectOneErrorLine(noExport, 'MODULE_NOT_LOADABLE')).toContain(`${FIXTURE} has no export "Nope" (it exports `);
      expect(expectOneErrorLine(notClass, 'MODULE_NOT_LOADABLE')).toContain(`export "NOT_A_MODULE" of ${FIXTURE} is not a class`);
      // A provider that throws in its constructor: no abort, no stack, one line.
      expect(expectOneErrorLine(broken, 'BOOT_FAILED')).toContain('ExplodingService cannot be constructed');
      expect(
        broken.stderr
          .trim()
          .split('\n')
          .filter((line) => !line.includes('LOG [AutoMigration]') && !line.startsWith('TagSource')),
      ).toHaveLength(1);
      expect(expectOneErrorLine(notWired, 'NOT_WIRED')).toContain('does not import AutoMigrationModule');
      // A provider named AutoMigrationService that is not the command's: a second copy of the package.
      expect(expectOneErrorLine(otherCopy, 'NOT_WIRED')).toContain('two copies of the package are loaded');
      expect(otherCopy.stderr).toContain('`npx nest-auto-migration`');
      expect(expectOneErrorLine(none, 'USAGE')).toContain('no module to boot: pass --module');
      // status exits 2 when the database cannot be opened.
      expectOneErrorLine(unopenable, 'DATABASE_UNAVAILABLE');
      for (const run of [missing, noExport, notClass, broken, notWired, otherCopy, none, unopenable]) expect(run.stdout).toBe('');
    });

    it("runs nothing on the app's behalf: hooks awaiting whenReady() go on, what never settles fails, main.js is refused", async () => {
      const hidden = t.dir.file('hidden.db');
      const main = t.dir.file('main.db');
      const forever = t.dir.file('forever.db');
      const [waiting, stalled, mainJs, hiddenBoot, stalledUp] = await Promise.all([
        cli(['status', '--json', '--module', `${FIXTURE}#WaitingModule`]),
        cli(['status', '--module', `${FIXTURE}#StalledModule`]),
        cli(['status', '--json', '--module', MAIN_FIXTURE], {}, main),
        cli(['status', '--json', '--module', `${MAIN_FIXTURE}#AppModuleAfterMain`], { BOOT_VIA: 'hidden' }, hidden),
        cli(['up', '--module', `${FIXTURE}#StalledMigrationModule`], {}, forever),
      ]);
      // whenReady() resolves at once under the command line: it decides what runs, after the hooks.
      expectExit(waiting, 1);
      expect(JSON.parse(waiting.stdout).state).toBe('pending');
      expect(waiting.stderr).toContain('WaitsForMigrations: whenReady() resolved');

      // A bootstrap hook that can never finish: one error line and exit 2, not a silent exit 0.
      expect(expectOneErrorLine(stalled, 'BOOT_FAILED')).toContain(`${FIXTURE}#StalledModule never finished: a lifecycle hook`);
      expect(stalled.stdout).toBe('');

      // The app's entry file boots the app when loaded: refused, and its application never started.
      expect(expectOneErrorLine(mainJs, 'MODULE_NOT_LOADABLE')).toContain(
        `${MAIN_FIXTURE} starts a Nest application when it is loaded (it calls NestFactory.create())`,
      );
      expect(mainJs.stderr).not.toContain('main.ts: the application booted');
      expect(mainJs.stdout).toBe('');
      expect(existsSync(main)).toBe(false);

      // A boot the command cannot see still runs under the command line's flag: nothing applied.
      expectExit(hiddenBoot, 1);
      expect(hiddenBoot.stderr).toContain('main.ts: the application booted');
      // That application's Nest logger wrote to stdout: diverted to stderr, the JSON is intact.
      expect(JSON.parse(hiddenBoot.stdout).pending).toHaveLength(5);
      expect(applied(hidden)).toEqual([]);

      // A migration whose promise never settles: reported, exit 2; its transaction never committed.
      expect(expectOneErrorLine(stalledUp, 'COMMAND_STALLED')).toContain('a promise it awaits (in a migration');
      expect(applied(forever)).toEqual([]);
      expect(tableNames(forever)).not.toContain('waited');
    });
  });

  describe('usage', () => {
    it('refuses unknown commands and flags and bad values with one line and a --help hint, before booting anything', async () => {
      const runs = await Promise.all(
        [
          ['frob'],
          ['status', '--frob'],
          ['status', 'extra'],
          ['down', '--steps', '1', '--to', '002_create_posts'],
          ['down', '--steps', '0'],
          ['down', '--steps='],
          ['up', '--to', ''],
          ['archive', '--older-than', '5w'],
          ['resolve', '003_index_and_vacuum'],
          ['restore'],
          [],
        ].map((args) => runCli(args.length > 0 ? [...args, '--module', FIXTURE] : [], { cwd: t.dir.path, env: { DATABASE: t.db } })),
      );
      const lines = runs.map((run) => expectOneErrorLine(run, 'USAGE'));
      expect(lines).toEqual([
        expect.stringContaining('unknown command "frob". Run `nest-auto-migration --help` for usage.'),
        expect.stringContaining('status: unknown flag --frob. Run `nest-auto-migration status --help`'),
        expect.stringContaining('status: unexpected argument "extra"'),
        expect.stringContaining('down: give --steps or --to, not both'),
        expect.stringContaining('down: --steps must be a whole number of 1 or more, got 0'),
        expect.stringContaining('down: --steps needs a value, got an empty one'),
        expect.stringContaining('up: --to needs a value, got an empty one'),
        expect.stringContaining('archive: --older-than must be a number with a unit (0s, 90s, 30m, 12h, 365d), got "5w"'),
        expect.stringContaining('resolve: give exactly one of --applied and --rolled-back'),
        expect.stringContaining('restore: missing FILE'),
        expect.stringContaining('no command given'),
      ]);
      for (const run of runs) {
        expect(run.stderr).not.toContain('[AutoMigration]');
        expect(run.stdout).toBe('');
      }
      expect(existsSync(t.db)).toBe(false);
    });

    it('--help lists every command; each command --help shows its flags (exit 0, on stdout)', async () => {
      const commands = ['status', 'up', 'down', 'create', 'resolve', 'repair', 'backup', 'restore', 'archive', 'unlock', 'baseline'];
      const [overview, up, create, version, helpUp, helpUnknown] = await Promise.all([
        runCli(['--help']),
        runCli(['up', '--help']),
        runCli(['create', '-h']),
        runCli(['--version']),
        runCli(['help', 'up']),
        runCli(['help', 'frob']),
      ]);
      // `help <command>` is `<command> --help`.
      expectExit(helpUp, 0);
      expect(helpUp.stdout).toBe(up.stdout);
      expect(expectOneErrorLine(helpUnknown, 'USAGE')).toContain('help: unknown command "frob"');
      expectExit(version, 0);
      expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version}\n`);
      expectExit(overview, 0);
      expect(overview.stdout).toContain('Usage: nest-auto-migration <command> [flags]');
      for (const name of commands) expect(overview.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
      for (const run of [up, create]) {
        expectExit(run, 0);
        expect(run.stdout).toMatch(/^ {2}-h, --help +Show this help\.$/m);
      }
      expect(up.stdout).toContain('Usage: nest-auto-migration up [--to NAME] [--dry-run]');
      expect(up.stdout).toMatch(/^ {2}--dry-run +Run on a temporary copy/m);
      expect(up.stdout).toMatch(/^ {2}--module FILE\[#Export\] +/m);
      expect(create.stdout).toContain('Usage: nest-auto-migration create NAME [--sql] [--dir DIR]');
      // The shared flags are every command's, create's included (an npm script may always pass --module).
      expect(create.stdout).toMatch(/^ {2}--module FILE\[#Export\] +/m);
    });

    it('up and down --help say that serving replicas stay healthy through a change by another process, and that their status shows it within seconds', async () => {
      const [up, down] = await Promise.all([runCli(['up', '--help']), runCli(['down', '--help'])]);
      expectExit(up, 0);
      expectExit(down, 0);
      const oneLine = (run: CliRun) => run.stdout.replace(/\n/g, ' ');
      expect(oneLine(up)).toContain(
        'Replicas already serving stay healthy (readiness up) while it applies them, and their status shows the true state (running, then up-to-date) within seconds.',
      );
      expect(oneLine(down)).toContain(
        'Replicas already serving stay healthy (readiness up) through the revert, and their status shows the true state (running, then pending) within seconds.',
      );
    });
  });
});

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { AutoMigrationService } from '../../src/auto-migration';
import { bootApp, type CapturingLogger, UsesDatabase } from '../helpers/boot';
import { freePort, httpGet, killStrayChildren, spawnTs } from '../helpers/child-process';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const WAL_READ_APP = join(__dirname, '..', 'fixtures', 'wal-read-app.ts');
const ADVICE = /uses a rollback journal, kept as it is.*set pragmas: \{ journal_mode: 'wal' \}/;

function advice(logger: CapturingLogger): string[] {
  return logger.lines.filter((line) => ADVICE.test(line));
}

function journalMode(file: string): unknown {
  return inspect(file, (d) => d.pragma('journal_mode', { simple: true }));
}

/**
 * A connection that keeps what it writes in the -wal file: no automatic checkpoint, and while it
 * stays open, closing the others never checkpoints either.
 */
function walWriter(file: string): Database {
  const db = new BetterSqlite3(file);
  db.pragma('wal_autocheckpoint = 0');
  return db;
}

function notes(file: string): string[] {
  return inspect(file, (d) => (d.prepare('SELECT body FROM notes ORDER BY id').all() as { body: string }[]).map((r) => r.body));
}

/** Boots as the command-line tool does: no run at bootstrap. */
async function underCli(boot: () => ReturnType<typeof bootApp>): Promise<Awaited<ReturnType<typeof bootApp>>['app']> {
  const flag = Symbol.for('nestjs-auto-migration.cli');
  (globalThis as Record<symbol, unknown>)[flag] = true;
  try {
    return (await boot()).app;
  } finally {
    delete (globalThis as Record<symbol, unknown>)[flag];
  }
}

const createNotes = migration('001_notes', (db) => {
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('first')");
});

describe('WAL journal mode', () => {
  const t = useTempDatabase();
  afterEach(() => killStrayChildren());

  describe('journal mode at start-up', () => {
    it('creates a new file in WAL mode (both connections) unless pragmas.journal_mode says otherwise; :memory: stays as it is; no advice', async () => {
      let migrationMode: unknown;
      const peek = migration('001_peek', (d) => {
        migrationMode = d.pragma('journal_mode', { simple: true });
      });
      const { app, logger } = await bootApp({ database: t.db, backup: false }, { migrations: [peek], providers: [UsesDatabase] });
      expect(app.get(UsesDatabase).db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(migrationMode).toBe('wal');
      await app.close();
      // Written into the file: every later connection, of any process, is in WAL mode too.
      expect(journalMode(t.db)).toBe('wal');
      expect(advice(logger)).toEqual([]);

      const other = t.dir.file('chosen.db');
      const chosen = await bootApp({ database: other, backup: false, pragmas: { journal_mode: 'delete' } }, { migrations: [migration('001_a')] });
      await chosen.app.close();
      expect(journalMode(other)).toBe('delete');
      expect(advice(chosen.logger)).toEqual([]);

      const memory = await bootApp({ database: ':memory:' }, { migrations: [migration('001_a')], providers: [UsesDatabase] });
      expect(memory.app.get(UsesDatabase).db.pragma('journal_mode', { simple: true })).toBe('memory');
      await memory.app.close();
      expect(advice(memory.logger)).toEqual([]);
    });

    it('keeps an existing file in its mode, and logs once at start-up how WAL would let the app read during migrations', async () => {
      const existing = new BetterSqlite3(t.db);
      existing.exec('CREATE TABLE app_data (id INTEGER PRIMARY KEY)');
      existing.close();
      const { app, logger } = await bootApp(
        { database: t.db, backup: false },
        { migrations: [migration('001_a'), migration('002_b')], providers: [UsesDatabase] },
      );
      expect(app.get(UsesDatabase).db.pragma('journal_mode', { simple: true })).toBe('delete');
      await app.close();
      expect(journalMode(t.db)).toBe('delete');
      expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
      expect(advice(logger)).toHaveLength(1);
      expect(advice(logger)[0]).toMatch(/^LOG \[AutoMigration\] The database ".*app\.db" uses a rollback journal/);
      expect(advice(logger)[0]).toContain('@InjectMigrationDatabase()');
    });

    it("in 'background' mode, where the app serves requests while migrations write, the advice is a warning", async () => {
      new BetterSqlite3(t.db).exec('CREATE TABLE app_data (id INTEGER PRIMARY KEY)').close();
      const { app, logger } = await bootApp({ database: t.db, backup: false, mode: 'background' }, { migrations: [migration('001_a')] });
      await app.get(AutoMigrationService).whenReady();
      await app.close();
      expect(advice(logger).map((line) => line.split(' ')[0])).toEqual(['WARN']);
    });
  });

  it("lets the application read through @InjectMigrationDatabase() while a 'background' run writes tens of MB", async () => {
    const port = await freePort();
    const go = t.dir.file('go');
    const child = spawnTs(WAL_READ_APP, { paths: true, env: { DB: t.db, PORT: String(port), GO_FILE: go } });
    await child.waitForOutput(`LISTENING ${port}`, 30_000);
    // The migration has written its tens of MB inside its open transaction and now waits.
    await child.waitForOutput('BIG WRITTEN', 60_000);
    const started = Date.now();
    const read = await httpGet(`http://127.0.0.1:${port}/notes`, 30_000);
    const tookMs = Date.now() - started;
    expect({ status: read.status, body: read.body }).toEqual({ status: 200, body: JSON.stringify({ n: 1 }) });
    // Promptly: the rollback journal made this read wait out the busy timeout (5 s), then fail.
    expect(tookMs).toBeLessThan(2_500);
    expect((await httpGet(`http://127.0.0.1:${port}/migrations/status`)).json()).toMatchObject({ state: 'running' });

    writeFileSync(go, '');
    for (let deadline = Date.now() + 30_000; (await httpGet(`http://127.0.0.1:${port}/health`)).status !== 200; await sleep(50)) {
      if (Date.now() > deadline) throw new Error(`health did not turn up\n${child.describe()}`);
    }
    child.kill('SIGTERM');
    await child.waitForExit(30_000);
    expect(historyNames(t.db)).toEqual(['001_notes', '002_big']);
  });

  describe('copies and restores of a database whose latest rows sit only in the -wal file', () => {
    const backups = () => join(t.dir.path, 'backups');
    const options = () => ({ database: t.db, backup: { dir: backups(), keep: 10 } });
    const backupFiles = () =>
      readdirSync(backups())
        .filter((f) => f.endsWith('.backup'))
        .sort();

    /** The module creates the database (in WAL mode); then a writer adds rows that stay in -wal. */
    async function walDatabase(): Promise<Database> {
      await (await bootApp(options(), { migrations: [createNotes] })).app.close();
      const writer = walWriter(t.db);
      writer.exec("INSERT INTO notes (body) VALUES ('only in the wal'), ('me too')");
      expect(statSync(`${t.db}-wal`).size).toBeGreaterThan(0);
      // The main file alone does not hold them: only a copy that reads the WAL does.
      expect(readFileSync(t.db).includes('only in the wal')).toBe(false);
      return writer;
    }

    it('writes a backup before a run that holds the rows only in the -wal file, and passes the integrity check', async () => {
      const writer = await walDatabase();
      try {
        await (await bootApp(options(), { migrations: [createNotes, migration('002_b')] })).app.close();
        const [backup] = backupFiles();
        const path = join(backups(), backup);
        expect(notes(path)).toEqual(['first', 'only in the wal', 'me too']);
        expect(inspect(path, (d) => d.pragma('integrity_check', { simple: true }))).toBe('ok');
        expect(tableNames(path)).not.toContain(tableFor('002_b'));
        // A backup is one self-contained file: no -wal of its own to lose.
        expect([existsSync(`${path}-wal`), existsSync(`${path}-shm`)]).toEqual([false, false]);
      } finally {
        writer.close();
      }
    });

    it('dry-runs on a copy that holds the -wal rows, leaving the live file and its -wal unchanged', async () => {
      const writer = await walDatabase();
      try {
        let seen: unknown;
        const peek = migration('002_peek', (d) => {
          seen = d.prepare('SELECT COUNT(*) AS n FROM notes').get();
          d.exec("INSERT INTO notes (body) VALUES ('dry')");
        });
        const app = await underCli(() => bootApp(options(), { migrations: [createNotes, peek] }));
        const main = readFileSync(t.db);
        const wal = readFileSync(`${t.db}-wal`);
        const report = await app.get(AutoMigrationService).dryRun();
        expect(report.failed).toBeNull();
        expect(seen).toEqual({ n: 3 });
        expect(readFileSync(t.db).equals(main)).toBe(true);
        expect(readFileSync(`${t.db}-wal`).equals(wal)).toBe(true);
        await app.close();
        expect(notes(t.db)).toEqual(['first', 'only in the wal', 'me too']);
        expect(historyNames(t.db)).toEqual(['001_notes']);
      } finally {
        writer.close();
      }
    });

    it('rehearses on a copy that holds the -wal rows', async () => {
      const writer = await walDatabase();
      try {
        let seen: unknown;
        const peek = migration('002_peek', (d) => {
          seen ??= d.prepare('SELECT COUNT(*) AS n FROM notes').get();
        });
        await (await bootApp({ ...options(), rehearse: true }, { migrations: [createNotes, peek] })).app.close();
        // The first call is the rehearsal's, on the copy.
        expect(seen).toEqual({ n: 3 });
        expect(historyNames(t.db)).toEqual(['001_notes', '002_peek']);
      } finally {
        writer.close();
      }
    });

    it('restores over a database with -wal/-shm files beside it: the -wal rows are kept in the pre-restore backup, never replayed over the restored content', async () => {
      // Backup of the state with 'first' only, written before 002 ran.
      await (await bootApp(options(), { migrations: [createNotes] })).app.close();
      new BetterSqlite3(t.db).exec("UPDATE notes SET body = 'restored' WHERE id = 1").close();
      await (await bootApp(options(), { migrations: [createNotes, migration('002_b')] })).app.close();
      const [restoring] = backupFiles();
      expect(notes(join(backups(), restoring))).toEqual(['restored']);

      const writer = walWriter(t.db);
      writer.exec("INSERT INTO notes (body) VALUES ('only in the wal')");
      expect(statSync(`${t.db}-wal`).size).toBeGreaterThan(0);
      const { app } = await bootApp(options(), { migrations: [createNotes, migration('002_b')], providers: [UsesDatabase] });
      try {
        await app.get(AutoMigrationService).restore(restoring, { force: true });
        const appDb = app.get(UsesDatabase).db;
        expect(appDb.prepare('SELECT body FROM notes').pluck().all()).toEqual(['restored']);
        expect(writer.prepare('SELECT body FROM notes').pluck().all()).toEqual(['restored']);
      } finally {
        await app.close();
      }
      // The state it replaced, -wal rows included, was backed up first.
      const before = backupFiles().filter((f) => f !== restoring);
      expect(before).toHaveLength(1);
      expect(notes(join(backups(), before[before.length - 1]))).toEqual(['restored', 'only in the wal']);
      expect(historyNames(join(backups(), before[before.length - 1]))).toEqual(['001_notes', '002_b']);

      // Every connection closed (the last one checkpoints): a fresh start sees the restored state.
      writer.close();
      expect(existsSync(`${t.db}-wal`)).toBe(false);
      expect(notes(t.db)).toEqual(['restored']);
      expect(historyNames(t.db)).toEqual(['001_notes']);
      expect(inspect(t.db, (d) => d.pragma('integrity_check', { simple: true }))).toBe('ok');
      expect(journalMode(t.db)).toBe('wal');
    });
  });
});

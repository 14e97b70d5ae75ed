import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { AutoMigrationService, MigrationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure, UsesDatabase } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('applying migrations at bootstrap', () => {
  const t = useTempDatabase();

  const base = () => ({ database: t.db, backup: false as const });
  const three = () => [migration('001_a'), migration('002_b'), migration('003_c')];

  it('applies every migration on the first run, in name order, with history, checksum and timing', async () => {
    // Listed out of order on purpose: the name decides the order.
    const [a, b, c] = three();
    const { app, logger } = await bootApp(base(), { migrations: [c, a, b] });
    await app.close();

    expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c']);
    expect(tableNames(t.db)).toEqual(expect.arrayContaining([tableFor('001_a'), tableFor('002_b'), tableFor('003_c')]));
    const rows = inspect(t.db, (d) => d.prepare('SELECT * FROM migrations ORDER BY id').all()) as Record<string, unknown>[];
    for (const row of rows) {
      expect(row).toMatchObject({ version: '1.0.0', description: expect.stringMatching(/^test /) });
      expect(row.applied_at).toMatch(ISO_MS);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isInteger(row.execution_time_ms)).toBe(true);
    }
    expect(logger.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\[AutoMigration\] \[1\/3\] 001_a \(\d+ ms\)$/),
        expect.stringMatching(/\[AutoMigration\] \[3\/3\] 003_c \(\d+ ms\)$/),
        expect.stringMatching(/Applied 3 migrations in \d+ ms/),
        `LOG [AutoMigration] Database: ${t.db}`,
      ]),
    );
  });

  it('applies nothing on a rerun, and only the new migration when one is added', async () => {
    const migrations = three();
    await (await bootApp(base(), { migrations })).app.close();
    const before = inspect(t.db, (d) => d.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all());

    const rerun = await bootApp(base(), { migrations });
    await rerun.app.close();
    expect(inspect(t.db, (d) => d.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all())).toEqual(before);
    expect(rerun.logger.lines).toContain('LOG [AutoMigration] Schema up to date (3 applied, nothing pending)');

    const added = await bootApp(base(), { migrations: [...migrations, migration('004_d')] });
    await added.app.close();
    const after = inspect(t.db, (d) => d.prepare('SELECT id, name, applied_at FROM migrations ORDER BY id').all());
    expect(after.slice(0, 3)).toEqual(before);
    expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c', '004_d']);
    expect(added.logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/\[1\/1\] 004_d/)]));
  });

  it('rolls back a throwing migration, runs nothing after it, and fails start-up naming it', async () => {
    const ran: string[] = [];
    const failing = migration('002_fails', (d) => {
      d.exec('CREATE TABLE half_done (id INTEGER)');
      d.exec('INSERT INTO half_done VALUES (1)');
      throw new Error('boom in the middle');
    });
    const later = migration('003_later', () => {
      ran.push('003_later');
    });
    const { error, logger } = await bootFailure(base(), { migrations: [migration('001_ok'), failing, later] });

    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_fails' });
    expect(error.message).toContain('"002_fails"');
    expect(error.message).toContain('boom in the middle');
    expect((error as MigrationFailedError).cause).toMatchObject({ message: 'boom in the middle' });
    expect(ran).toEqual([]);
    expect(tableNames(t.db)).not.toContain('half_done');
    expect(historyNames(t.db)).toEqual(['001_ok']);
    expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ERROR \[AutoMigration\] Migration "002_fails" failed/)]));
  });

  it('in transactionMode "all" leaves no trace of any migration of the failed batch', async () => {
    const failing = migration('003_fails', (d) => {
      d.exec('CREATE TABLE half_done (id INTEGER)');
      throw new Error('late failure');
    });
    const { error } = await bootFailure({ ...base(), transactionMode: 'all' }, { migrations: [migration('001_a'), migration('002_b'), failing] });

    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '003_fails' });
    expect(error.message).toContain('Every migration of its batch (transactionMode "all") was rolled back');
    expect(historyNames(t.db)).toEqual([]);
    expect(tableNames(t.db).filter((t) => t.startsWith('t_') || t === 'half_done')).toEqual([]);
  });

  it('applies a whole batch in one transaction in transactionMode "all"', async () => {
    const { app } = await bootApp({ ...base(), transactionMode: 'all' }, { migrations: three() });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c']);
  });

  it('with failOnError: false starts the app in state failed with the error in status', async () => {
    const failing = migration('002_fails', () => {
      throw new Error(`cannot read ${t.dir.path}/secret.txt`);
    });
    const { app, logger } = await bootApp({ ...base(), failOnError: false }, { migrations: [migration('001_ok'), failing] });
    const status = await app.get(AutoMigrationService).getStatus();
    await expect(app.get(AutoMigrationService).whenReady()).rejects.toBeInstanceOf(MigrationFailedError);
    await app.close();

    expect(status.state).toBe('failed');
    expect(status.applied.map((m) => m.name)).toEqual(['001_ok']);
    expect(status.pending.map((m) => m.name)).toEqual(['002_fails']);
    expect(status.lastError).toEqual({ migration: '002_fails', code: 'MIGRATION_FAILED', message: expect.stringContaining('cannot read <path>') });
    expect(JSON.stringify(status)).not.toContain(t.dir.path);
    expect(logger.lines).toEqual(expect.arrayContaining([expect.stringContaining('failOnError is false')]));
  });

  it('awaits an async up, on a connection the application does not share', async () => {
    let seenByApp: string | undefined;
    let migrationDb: Database | undefined;
    const slow = migration('001_async', async (d) => {
      migrationDb = d;
      d.exec('CREATE TABLE slow (id INTEGER)');
      await sleep(50);
      d.exec('INSERT INTO slow VALUES (42)');
    });
    const { app } = await bootApp(base(), { migrations: [slow], providers: [UsesDatabase] }, { init: false });
    const appDb = app.get(UsesDatabase).db;
    const init = app.init();
    // While up() awaits, the app's connection cannot see the uncommitted table.
    await sleep(10);
    try {
      appDb.prepare('SELECT * FROM slow').all();
      seenByApp = 'visible';
    } catch (error) {
      seenByApp = (error as Error).message;
    }
    await init;
    expect(migrationDb).toBeDefined();
    expect(migrationDb).not.toBe(appDb);
    expect(seenByApp).toMatch(/no such table: slow/);
    expect(appDb.prepare('SELECT id FROM slow').all()).toEqual([{ id: 42 }]);
    await app.close();
    expect(appDb.open).toBe(false);
    expect(migrationDb!.open).toBe(false);
  });

  it('uses one connection for :memory:, where the database lives inside it', async () => {
    let migrationDb: Database | undefined;
    const m = migration('001_mem', (d) => {
      migrationDb = d;
      d.exec('CREATE TABLE mem (id INTEGER)');
    });
    const { app } = await bootApp({ database: ':memory:' }, { migrations: [m], providers: [UsesDatabase] });
    const appDb = app.get(UsesDatabase).db;
    expect(migrationDb).toBe(appDb);
    expect(appDb.prepare('SELECT name FROM migrations').all()).toEqual([{ name: '001_mem' }]);
    await app.close();
  });

  it('runs a transaction: false migration outside a transaction (VACUUM)', async () => {
    const vacuum = migration(
      '002_vacuum',
      (d) => {
        d.exec('VACUUM');
      },
      { transaction: false },
    );
    const { app } = await bootApp(base(), { migrations: [migration('001_a'), vacuum, migration('003_c')] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_vacuum', '003_c']);
  });

  it('refuses VACUUM inside a transaction, naming the migration', async () => {
    const vacuum = migration('001_vacuum', (d) => {
      d.exec('VACUUM');
    });
    const { error } = await bootFailure(base(), { migrations: [vacuum] });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_vacuum' });
    expect(error.message).toMatch(/cannot VACUUM from within a transaction/);
  });

  it('keeps the design document SQL working verbatim', async () => {
    await (await bootApp(base(), { migrations: three() })).app.close();
    const seed = readFileSync(require.resolve('./seed-queries.sql'), 'utf8')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    const BetterSqlite3 = (await import('better-sqlite3')).default;
    const conn = new BetterSqlite3(t.db);
    try {
      const [history, one, lock, reset] = seed;
      expect((conn.prepare(history).all() as { name: string }[]).map((r) => r.name).sort()).toEqual(['001_a', '002_b', '003_c']);
      expect(conn.prepare(one.replace("'migration_name'", "'002_b'")).all()).toHaveLength(1);
      expect(conn.prepare(lock).all()).toEqual([expect.objectContaining({ id: 1, in_progress: 0, started_at: null })]);
      expect(conn.prepare(reset).run().changes).toBe(1);
      const indexes = (conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'migrations'").all() as { name: string }[]).map(
        (r) => r.name,
      );
      expect(indexes).toEqual(expect.arrayContaining(['idx_migrations_name', 'idx_migrations_applied_at', 'idx_migrations_version']));
      expect(conn.prepare("SELECT value FROM migration_meta WHERE key = 'schema_version'").get()).toEqual({ value: '4' });
    } finally {
      conn.close();
    }
    // The manual reset is harmless: the next start proceeds normally.
    const { app } = await bootApp(base(), { migrations: [...three(), migration('004_d')] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c', '004_d']);
  });
});

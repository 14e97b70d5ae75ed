import { Module } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import BetterSqlite3 from 'better-sqlite3';
import { hostname } from 'node:os';
import type { INestApplication } from '@nestjs/common';
import { lastValueFrom, toArray } from 'rxjs';
import {
  AutoMigrationService,
  InterruptedMigrationError,
  type MigrationEvent,
  NothingToResolveError,
  OutOfOrderMigrationError,
} from '../../src/auto-migration';
import { classChecksum } from '../../src/auto-migration/discovery/migration-checksum';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

describe('rolling deployments, interrupted migrations, events and upgrades', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });

  it('tolerates applied migrations the code does not have, listing them as unknown and logging once', async () => {
    await (await bootApp(base(), { migrations: [migration('001_a'), migration('002_b'), migration('003_newer')] })).app.close();

    // An older replica starts after a newer one migrated.
    const { app, logger } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b')] });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(status.state).toBe('up-to-date');
    expect(status.unknown).toEqual([{ name: '003_newer', version: '1.0.0', appliedAt: expect.any(String) }]);
    expect(status.applied.map((m) => m.name)).toEqual(['001_a', '002_b', '003_newer']);
    expect(logger.lines.filter((l) => l.includes('not in this code'))).toEqual([
      expect.stringMatching(/^WARN \[AutoMigration\] Applied migration not in this code: 003_newer\./),
    ]);
  });

  it('refuses a pending migration that sorts before the newest applied one, unless allowOutOfOrder', async () => {
    await (await bootApp(base(), { migrations: [migration('001_a'), migration('003_c')] })).app.close();

    const late = [migration('001_a'), migration('002_late'), migration('003_c')];
    const { error } = await bootFailure({ ...base(), failOnError: false }, { migrations: late });
    expect(error).toBeInstanceOf(OutOfOrderMigrationError);
    expect(error.message).toContain('"002_late" sorts before "003_c"');
    expect(historyNames(t.db)).toEqual(['001_a', '003_c']);

    const { app } = await bootApp({ ...base(), allowOutOfOrder: true }, { migrations: late });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '003_c', '002_late']);
  });

  it('emits the events of a run in order, and the log follows them', async () => {
    const { app, logger } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b')] }, { init: false });
    const events = await eventsOfOneRun(app);
    expect(events.map((e) => e.type)).toEqual([
      'lock-acquired',
      'run-started',
      'migration-started',
      'migration-applied',
      'migration-started',
      'migration-applied',
      'lock-released',
      'run-finished',
    ]);
    expect(events[3]).toMatchObject({ type: 'migration-applied', name: '001_a', index: 1, total: 2, executionTimeMs: expect.any(Number) });
    expect(events[7]).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 2, total: 2 });
    for (const e of events) expect(e.at).toMatch(/Z$/);
    expect(logger.lines.filter((l) => /^LOG \[AutoMigration\] \[\d\/2\] 00\d_[ab] \(\d+ ms\)$/.test(l))).toHaveLength(2);
  });

  it('emits migration-failed and a failed run-finished', async () => {
    const failing = migration('002_fails', () => {
      throw new Error('nope');
    });
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations: [migration('001_a'), failing] }, { init: false });
    const events = await eventsOfOneRun(app);
    expect(events.map((e) => e.type)).toEqual([
      'lock-acquired',
      'run-started',
      'migration-started',
      'migration-applied',
      'migration-started',
      'migration-failed',
      'lock-released',
      'run-finished',
    ]);
    expect(events[7]).toMatchObject({ outcome: 'failed', applied: 1, error: { code: 'MIGRATION_FAILED' } });
  });

  it('never retries a failed transaction: false migration blindly, and resolve() is the way out', async () => {
    let attempt = 0;
    const risky = migration(
      '002_risky',
      (d) => {
        attempt++;
        d.exec(`CREATE TABLE IF NOT EXISTS risky_${attempt} (id INTEGER)`);
        if (attempt === 1) throw new Error('half-way');
      },
      { transaction: false },
    );
    const migrations = [migration('001_a'), risky, migration('003_c')];

    const first = await bootFailure(base(), { migrations });
    expect(first.error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_risky' });
    expect(first.error.message).toContain('outside a transaction');
    const attempts = inspect(t.db, (d) => d.prepare('SELECT name, failed_at, error, owner_pid FROM migration_attempts').all());
    expect(attempts).toEqual([{ name: '002_risky', failed_at: expect.any(String), error: 'half-way', owner_pid: process.pid }]);

    // A later start refuses, naming it, and leaves it alone.
    const second = await bootFailure(base(), { migrations });
    expect(second.error).toBeInstanceOf(InterruptedMigrationError);
    expect(second.error.message).toContain('"002_risky" started');
    expect(second.error.message).toContain("resolve(name, 'applied')");
    expect(attempt).toBe(1);

    // With failOnError: false the app runs in state failed; resolve() then converges it.
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations });
    const service = app.get(AutoMigrationService);
    expect((await service.getStatus()).lastError).toMatchObject({ code: 'INTERRUPTED_MIGRATION', migration: '002_risky' });
    await expect(service.resolve('001_a', 'applied')).rejects.toBeInstanceOf(NothingToResolveError);

    const status = await service.resolve('002_risky', 'rolled-back');
    await service.whenReady();
    await app.close();
    expect(status.state).toBe('up-to-date');
    expect(attempt).toBe(2); // ran again after being resolved as rolled back
    expect(historyNames(t.db)).toEqual(['001_a', '002_risky', '003_c']);
    expect(inspect(t.db, (d) => d.prepare('SELECT COUNT(*) AS n FROM migration_attempts').get())).toEqual({ n: 0 });
  });

  it("resolve(name, 'applied') records the interrupted migration without running it again", async () => {
    let runs = 0;
    const risky = migration(
      '001_risky',
      () => {
        runs++;
        throw new Error('died half-way');
      },
      { transaction: false },
    );
    await bootFailure(base(), { migrations: [risky] });
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations: [risky, migration('002_after')] });
    const status = await app.get(AutoMigrationService).resolve('001_risky', 'applied');
    await app.close();
    expect(runs).toBe(1);
    expect(status.state).toBe('up-to-date');
    expect(historyNames(t.db)).toEqual(['001_risky', '002_after']);
  });

  it('shows the lease while running: held by this instance, with owner, heartbeat and no suspicion', async () => {
    let seen: unknown;
    let service!: AutoMigrationService;
    const peek = migration('001_peek', async () => {
      seen = (await service.getStatus()).lock;
    });
    const { app } = await bootApp(base(), { migrations: [peek] }, { init: false });
    service = app.get(AutoMigrationService);
    await app.init();
    await app.close();
    expect(seen).toEqual({
      held: true,
      owner: { host: hostname(), pid: process.pid, instanceId: expect.stringMatching(/^[0-9a-f]{8}$/) },
      since: expect.stringMatching(/Z$/),
      heartbeatAt: expect.stringMatching(/Z$/),
      current: null,
      suspect: false,
    });
  });

  it('upgrades the tables of a database created by the first release (schema 1) in place, to schema 4', async () => {
    const v1 = new BetterSqlite3(t.db);
    v1.exec(`
      CREATE TABLE migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, version TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', checksum TEXT NOT NULL, applied_at TEXT NOT NULL, execution_time_ms INTEGER NOT NULL);
      CREATE INDEX idx_migrations_name ON migrations(name);
      CREATE INDEX idx_migrations_applied_at ON migrations(applied_at);
      CREATE INDEX idx_migrations_version ON migrations(version);
      CREATE TABLE migration_lock (id INTEGER PRIMARY KEY CHECK (id = 1), in_progress INTEGER NOT NULL DEFAULT 0, started_at TEXT);
      INSERT INTO migration_lock (id, in_progress, started_at) VALUES (1, 0, NULL);
      CREATE TABLE migration_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO migration_meta VALUES ('schema_version', '1');
      CREATE TABLE ${tableFor('001_a')} (id INTEGER PRIMARY KEY);
      INSERT INTO migrations (name, version, description, checksum, applied_at, execution_time_ms)
        VALUES ('001_a', '1.0.0', 'old', '${classChecksum(migration('001_a'))}', '2026-01-01T00:00:00.000Z', 1);
    `);
    v1.close();

    // Nothing pending: an old-layout database still takes the lock once, to upgrade.
    const { app } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b')] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
    expect(tableNames(t.db)).toEqual(expect.arrayContaining(['migration_attempts', 'migrations_archive']));
    const columns = inspect(t.db, (d) => (d.pragma('table_info(migration_lock)') as { name: string }[]).map((c) => c.name));
    expect(columns).toEqual(['id', 'in_progress', 'started_at', 'owner_host', 'owner_pid', 'owner_instance', 'heartbeat_at', 'current_migration']);
    expect(inspect(t.db, (d) => d.prepare("SELECT value FROM migration_meta WHERE key = 'schema_version'").get())).toEqual({ value: '4' });
  });

  it('leaves an upgraded database usable by the first release, whose statements name their columns', async () => {
    await (await bootApp(base(), { migrations: [migration('001_a')] })).app.close();
    // The statements of the schema-1 release, verbatim: an older replica starting after an upgrade.
    const old = new BetterSqlite3(t.db);
    try {
      // It reads the exact schema version this release wrote.
      expect(old.prepare("SELECT CAST(value AS INTEGER) AS version FROM migration_meta WHERE key = 'schema_version'").get()).toEqual({ version: 4 });
      expect(
        old
          .prepare('SELECT name, version, description, checksum, applied_at AS appliedAt, execution_time_ms AS executionTimeMs FROM migrations ORDER BY id')
          .all(),
      ).toHaveLength(1);
      old.exec('BEGIN IMMEDIATE');
      old
        .prepare('UPDATE migration_lock SET in_progress = @inProgress, started_at = @startedAt WHERE id = 1')
        .run({ inProgress: 1, startedAt: new Date().toISOString() });
      old
        .prepare(
          'INSERT INTO migrations (name, version, description, checksum, applied_at, execution_time_ms) VALUES (@name, @version, @description, @checksum, @appliedAt, @executionTimeMs)',
        )
        .run({ name: '002_by_old_release', version: '1.0.0', description: '', checksum: 'x', appliedAt: new Date().toISOString(), executionTimeMs: 1 });
      old.prepare('UPDATE migration_lock SET in_progress = @inProgress, started_at = @startedAt WHERE id = 1').run({ inProgress: 0, startedAt: null });
      old.exec('COMMIT');
    } finally {
      old.close();
    }
    // ...and this release reads what the old one wrote (an unknown migration, not an error).
    const { app } = await bootApp(base(), { migrations: [migration('001_a')] });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(status.unknown.map((m) => m.name)).toEqual(['002_by_old_release']);
  });

  it("registers its heartbeat in the app's SchedulerRegistry when ScheduleModule is imported, and shuts down cleanly", async () => {
    let intervals: string[] = [];
    let registry!: SchedulerRegistry;
    // eslint-disable-next-line @typescript-eslint/require-await -- an async up() as apps write them: the run awaits it while the lease is held.
    const peek = migration('001_peek', async () => {
      intervals = registry.getIntervals();
    });
    @Module({ imports: [ScheduleModule.forRoot()] })
    class WithSchedule {}
    const { app } = await bootApp(base(), { migrations: [peek], imports: [WithSchedule] }, { init: false });
    registry = app.get(SchedulerRegistry);
    await app.init();
    expect(intervals).toEqual([expect.stringMatching(/^nestjs-auto-migration:heartbeat:/)]);
    expect(registry.getIntervals()).toEqual([]); // stopped when the lock was released
    await app.close();
  });
});

/** Boots the (not yet initialised) app, closes it, and returns every event it emitted. */
async function eventsOfOneRun(app: INestApplication): Promise<MigrationEvent[]> {
  const collected = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
  await app.init();
  await app.close(); // completes the stream
  return collected;
}

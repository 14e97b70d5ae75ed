import BetterSqlite3 from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { AutoMigrationService, LockTimeoutError, type MigrationEvent, ShuttingDownError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { gatedMigration, migration } from '../helpers/migrations';
import { historyNames, inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/** Holds the database the way a replica committing a large migration does: the lock and SQLite's exclusive lock. */
function holdLikeABigMigration(database: string): { release(): void } {
  const lock = new BetterSqlite3(`${database}.migration-lock`);
  lock.exec('BEGIN IMMEDIATE');
  const main = new BetterSqlite3(database);
  main.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      main.exec('ROLLBACK');
      main.close();
      lock.close();
    },
  };
}

describe('busy databases, serialised operations, shutdown, events, heartbeat', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });

  it('a replica starting during another replica’s large commit waits for the lock instead of failing', async () => {
    await (await bootApp(base(), { migrations: [migration('001_a')] })).app.close();
    const holder = holdLikeABigMigration(t.db);
    setTimeout(() => holder.release(), 300);
    const { app, logger } = await bootApp({ ...base(), lock: { timeoutMs: 30_000 } }, { migrations: [migration('001_a'), migration('002_b')] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
    expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^LOG \[AutoMigration\] Migration lock held by /)]));
  });

  it('status never waits on another process’s lock: it serves the last history read', async () => {
    // A status call that waited would block (SQLite's busy wait is synchronous) until the busy
    // timeout: the bound below fails it within seconds, long before any test timeout.
    const busyTimeoutMs = 8_000;
    const { app } = await bootApp({ ...base(), pragmas: { busy_timeout: busyTimeoutMs } }, { migrations: [migration('001_a')] });
    const holder = holdLikeABigMigration(t.db);
    try {
      const started = Date.now();
      const status = await app.get(AutoMigrationService).getStatus();
      expect(Date.now() - started).toBeLessThan(busyTimeoutMs / 2);
      // Another process holds the lock: 'running', with the history as last read (CONTRACT, "What an operator sees").
      expect(status.state).toBe('running');
      expect(status.applied.map((m) => m.name)).toEqual(['001_a']);
      expect(status.lock.held).toBe(true);
    } finally {
      holder.release();
    }
    await app.close();
  });

  /** A transaction: false migration that fails half-way: its attempt row stays, interrupted. */
  async function leaveInterruptedAttempt(): Promise<void> {
    const risky = migration(
      '001_risky',
      () => {
        throw new Error('half-way');
      },
      { transaction: false },
    );
    await bootFailure(base(), { migrations: [risky] });
  }

  it('serialises resolve() calls within one process', async () => {
    await leaveInterruptedAttempt();
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations: [migration('001_risky')] });
    const service = app.get(AutoMigrationService);
    const results = await Promise.allSettled([service.resolve('001_risky', 'applied'), service.resolve('001_risky', 'applied')]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'NOTHING_TO_RESOLVE' } });
    expect(historyNames(t.db)).toEqual(['001_risky']);
    await app.close();
  });

  it('on shutdown during a run, stops after the migration in progress and logs the end of the run', async () => {
    const slow = gatedMigration('001_slow');
    let laterRan = false;
    const later = migration('002_later', () => {
      laterRan = true;
    });
    const { app, logger } = await bootApp(base(), { migrations: [slow.type, later] }, { init: false });
    const init = app.init().catch((error: unknown) => error);
    await slow.started;
    const closing = app.close();
    await sleep(20);
    slow.release();
    await closing;
    const error = await init;
    expect(error).toBeInstanceOf(ShuttingDownError);
    expect(laterRan).toBe(false);
    expect(historyNames(t.db)).toEqual(['001_slow']);
    expect(logger.lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/\[1\/2\] 001_slow \(\d+ ms\)$/), expect.stringMatching(/^ERROR .*shutting down: stopped after 1 of 2/)]),
    );
  });

  it('never emits migration-applied for work that was rolled back (transactionMode "all")', async () => {
    const failing = migration('003_fails', () => {
      throw new Error('late');
    });
    const { app } = await bootApp(
      { ...base(), failOnError: false, transactionMode: 'all' },
      { migrations: [migration('001_a'), migration('002_b'), failing] },
      { init: false },
    );
    const events = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
    await app.init();
    await app.close();
    const types = (await events).map((e: MigrationEvent) => e.type);
    expect(types).not.toContain('migration-applied');
    expect(types.filter((type) => type === 'migration-started')).toHaveLength(3);
  });

  it('keeps the heartbeat fresh while a long transaction: false migration awaits', async () => {
    const beats: string[] = [];
    const long = migration(
      '001_long',
      async () => {
        for (let i = 0; i < 6; i++) {
          await sleep(60);
          beats.push(inspect(t.db, (d) => (d.prepare('SELECT heartbeat_at AS h FROM migration_lock').get() as { h: string }).h));
        }
      },
      { transaction: false },
    );
    const { app } = await bootApp({ ...base(), lock: { staleAfterMs: 150 } }, { migrations: [long] });
    await app.close();
    expect(new Set(beats).size).toBeGreaterThan(2);
  });

  it('the design document’s manual lease reset during a live run never lets a second runner in', async () => {
    const slow = migration(
      '001_slow',
      async () => {
        await sleep(400);
      },
      { transaction: false },
    );
    const { app: first } = await bootApp(base(), { migrations: [slow] }, { init: false });
    const running = first.init();
    await sleep(100);
    const conn = new BetterSqlite3(t.db);
    expect(conn.prepare('UPDATE migration_lock SET in_progress = 0, started_at = NULL WHERE id = 1').run().changes).toBe(1);
    conn.close();
    const { error } = await bootFailure({ ...base(), lock: { timeoutMs: 150 } }, { migrations: [slow] });
    expect(error).toBeInstanceOf(LockTimeoutError);
    await running;
    await first.close();
    expect(historyNames(t.db)).toEqual(['001_slow']);
  });

  it('migrate() brings a replica left failed back once another one fixed the cause', async () => {
    await leaveInterruptedAttempt();
    const fixed = migration('001_risky');
    const one = await bootApp({ ...base(), failOnError: false }, { migrations: [fixed] });
    const two = await bootApp({ ...base(), failOnError: false }, { migrations: [fixed] });
    await one.app.get(AutoMigrationService).resolve('001_risky', 'applied');
    const replica = two.app.get(AutoMigrationService);
    expect((await replica.getStatus()).state).toBe('failed');
    expect((await replica.migrate()).state).toBe('up-to-date');
    await replica.whenReady();
    await one.app.close();
    await two.app.close();
  });
});

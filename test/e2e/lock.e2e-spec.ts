import BetterSqlite3, { type Database } from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutoMigrationService, LockTimeoutError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { gatedMigration, migration } from '../helpers/migrations';
import { CLEARED_LEASE, historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';
import { SqliteDriver } from '../../src/auto-migration/driver/sqlite/sqlite-driver';

/** Holds the migration lock the way another instance would: an open BEGIN IMMEDIATE on the sidecar file. */
function holdLock(database: string): Database {
  const holder = new BetterSqlite3(`${database}.migration-lock`);
  holder.exec('BEGIN IMMEDIATE');
  return holder;
}

describe('the cross-process migration lock', () => {
  const t = useTempDatabase();

  it('creates the module tables and writes the lease row in one transaction: a failing lease write leaves neither', async () => {
    const writeLease = jest.spyOn(SqliteDriver.prototype, 'writeLease').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    try {
      const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [migration('001_a')] });
      expect(error.message).toContain('prepare the module tables');
      expect(tableNames(t.db)).toEqual([]);
    } finally {
      writeLease.mockRestore();
    }
  });

  it('waits for the holder, then gives up after lock.timeoutMs with LockTimeoutError, applying nothing', async () => {
    const holder = holdLock(t.db);
    try {
      const { error, logger } = await bootFailure({ database: t.db, backup: false, lock: { timeoutMs: 300 } }, { migrations: [migration('001_a')] });
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect(error).toMatchObject({ code: 'LOCK_TIMEOUT' });
      expect((error as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(300);
      expect(logger.lines).toContain(
        'LOG [AutoMigration] Migration lock held by another process (not identified yet: it has not written the lease row; it may be taking the backup); waiting up to 300 ms.',
      );
      expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ERROR \[AutoMigration\] Gave up waiting for the migration lock/)]));
      // Nothing was written: not even the module's own tables, which are created under the lock.
      expect(tableNames(t.db)).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it('proceeds as soon as the holder lets go', async () => {
    const holder = holdLock(t.db);
    setTimeout(() => holder.close(), 200);
    const { app, logger } = await bootApp({ database: t.db, backup: false, lock: { timeoutMs: 10_000 } }, { migrations: [migration('001_a')] });
    await app.close();
    expect(logger.lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/^LOG \[AutoMigration\] Migration lock held by .*; waiting up to 10000 ms\.$/)]),
    );
    expect(historyNames(t.db)).toEqual(['001_a']);
  });

  it('is not needed when nothing is pending: a held lock does not delay an up-to-date start', async () => {
    await (await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a')] })).app.close();
    const holder = holdLock(t.db);
    try {
      const { app, logger } = await bootApp({ database: t.db, backup: false, lock: { timeoutMs: 0 } }, { migrations: [migration('001_a')] });
      await app.close();
      expect(logger.lines).toContain('LOG [AutoMigration] Schema up to date (1 applied, nothing pending)');
    } finally {
      holder.close();
    }
  });

  it('marks the visible lease row while applying and clears it afterwards', async () => {
    let seen: unknown;
    const peek = migration('001_peek', (d) => {
      seen = d.prepare('SELECT in_progress, started_at FROM migration_lock WHERE id = 1').get();
    });
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [peek] });
    await app.close();
    expect(seen).toEqual({ in_progress: 1, started_at: expect.stringMatching(/^\d{4}-.*Z$/) });
    const after = new BetterSqlite3(t.db, { readonly: true });
    expect(after.prepare('SELECT * FROM migration_lock').get()).toEqual(CLEARED_LEASE);
    after.close();
  });

  it('lets a waiter go without the lock once the holder has applied everything it needed', async () => {
    const gated = gatedMigration('001_slow');
    const first = await bootApp({ database: t.db, backup: false }, { migrations: [gated.type] }, { init: false });
    const running = first.app.init();
    await gated.started;

    const second = await bootApp({ database: t.db, backup: false, lock: { timeoutMs: 10_000 } }, { migrations: [gated.type] }, { init: false });
    const events: string[] = [];
    second.app.get(AutoMigrationService).events$.subscribe((event) => events.push(event.type));
    const waiting = second.app.init();
    // Let it find the lock taken and start waiting, then let the holder finish.
    while (!events.includes('lock-waiting')) await sleep(20);
    gated.release();
    await running;
    await waiting;
    try {
      expect(events).toEqual(['lock-waiting', 'run-finished']);
      expect(second.logger.lines).toContain('LOG [AutoMigration] Stopped waiting for the migration lock: another process applied what this one needed');
      expect((await second.app.get(AutoMigrationService).getStatus()).state).toBe('up-to-date');
      expect(historyNames(t.db)).toEqual(['001_slow']);
    } finally {
      await second.app.close();
      await first.app.close();
    }
  });
});

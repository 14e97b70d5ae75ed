import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../../src/auto-migration';
import type { LockOwner } from '../../src/auto-migration/driver/lease-store';
import { closeFakeApps, type FakeApp, FakeDatabase, fakeApp, fakeMigration } from '../helpers/fake-driver';
import { tableFor } from '../helpers/migrations';

/** Another process on the same database, as its lock and lease row show it. */
const OTHER: LockOwner = { host: 'other-host', pid: 4242, instanceId: 'other123' };

/** Plays another process: takes the lock and writes the lease row (naming `current`), as a run of its own would. */
async function otherProcessHolds(database: FakeDatabase, current: string): Promise<() => Promise<void>> {
  const other = database.connect();
  expect(await other.lock.acquire({ timeoutMs: 0, owner: OTHER })).toBe(true);
  other.history.ensureSchema();
  other.lease.writeLease(OTHER);
  other.lease.heartbeat(current);
  return async () => {
    other.lease.writeLease(null);
    await other.close();
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(5)) {
    if (Date.now() - started > 5_000) throw new Error(`timed out waiting for ${what}`);
  }
}

const typesOf = (app: FakeApp) => app.events.map((e) => e.type);

/** The lock between processes and the lease row, with the real module on the fake driver. */
describe('the lock on a fake driver', () => {
  afterEach(closeFakeApps);

  it('a lock held by another process makes the run wait, then give up with LOCK_TIMEOUT naming the holder', async () => {
    const database = new FakeDatabase();
    await otherProcessHolds(database, '007_long');
    let ran = false;
    const app = await fakeApp(database, [fakeMigration('001_users', (db) => ((ran = true), db.tables.add('users')))], { lock: { timeoutMs: 150 } });

    const error = await app.start().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(error).toMatchObject({ code: 'LOCK_TIMEOUT', holder: { owner: OTHER, current: '007_long' } });
    expect((error as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(150);
    expect((error as Error).message).toContain('other-host/4242 (instance other123)');
    expect(ran).toBe(false);
    expect(database.committed.tables.size).toBe(0);
    expect(typesOf(app)).toEqual(['lock-waiting', 'run-finished']);
    expect(app.events[0]).toMatchObject({ type: 'lock-waiting', holder: { owner: OTHER }, timeoutMs: 150 });
    expect(database.lockNote?.owner).toEqual(OTHER);
  });

  it('unlock waits only a moment for a held lock, and its wait event and log line say so (not lock.timeoutMs)', async () => {
    const database = new FakeDatabase();
    await otherProcessHolds(database, '007_long');
    const app = await fakeApp(database, [fakeMigration('001_users')], { lock: { timeoutMs: 60_000 } });

    await expect(app.service.unlock()).rejects.toMatchObject({ code: 'LOCK_HELD' });

    expect(app.events.find((e) => e.type === 'lock-waiting')).toMatchObject({ timeoutMs: 1_000 });
    expect(app.logger.lines.filter((line) => line.includes('waiting up to'))).toEqual([expect.stringContaining('waiting up to 1000 ms.')]);
  });

  it('a run waiting for the lock ends without it once the holder has applied everything (stillNeeded)', async () => {
    const database = new FakeDatabase();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let slowRuns = 0;
    const migrations = [
      fakeMigration('001_slow', async (db) => {
        slowRuns++;
        db.tables.add('slow');
        await gate;
      }),
      fakeMigration('002_users'),
    ];
    const first = await fakeApp(database, migrations);
    const second = await fakeApp(database, migrations);

    const firstStart = first.start();
    await until(() => slowRuns === 1, 'the first run to enter 001_slow');
    const secondStart = second.start();
    await until(() => typesOf(second).includes('lock-waiting'), 'the second run to wait for the lock');
    // Status names the holder while its migration's transaction is still open.
    expect(await second.service.getStatus()).toMatchObject({ state: 'running', lock: { held: true, owner: { pid: process.pid } } });
    release();
    await Promise.all([firstStart, secondStart]);

    expect(slowRuns).toBe(1);
    expect(database.committed.history.map((h) => h.name)).toEqual(['001_slow', '002_users']);
    expect([...database.committed.tables].sort()).toEqual(['slow', tableFor('002_users')]);
    expect(typesOf(second)).toEqual(['lock-waiting', 'run-finished']);
    expect(second.events[1]).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 0, total: 2 });
    expect(second.logger.lines.some((line) => line.includes('Stopped waiting for the migration lock'))).toBe(true);
    expect(await second.service.getStatus()).toMatchObject({ state: 'up-to-date', pending: [], lock: { held: false } });
  });

  it('status names the holder from the lease row: its owner, heartbeat and running migration', async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(database, [fakeMigration('001_users')]);
    await app.start();
    const releaseOther = await otherProcessHolds(database, '002_rebuild');

    const status = await app.service.getStatus();

    expect(status.state).toBe('running');
    expect(status.lock).toEqual({
      held: true,
      owner: OTHER,
      since: database.committed.lease.startedAt,
      heartbeatAt: database.committed.lease.heartbeatAt,
      current: '002_rebuild',
      suspect: false,
    });

    await releaseOther();
    expect(await app.service.getStatus()).toMatchObject({ state: 'up-to-date', lock: { held: false, owner: null, current: null } });
  });

  it("while another process's commit locks readers out, status serves the history as last read, marked stale, and never fails", async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(database, [fakeMigration('001_users')]);
    await app.start();
    database.connect().history.ensureSchema(); // another process's commit: the history may have changed

    database.readersLockedOut = true;
    const locked = await app.service.getStatus();

    expect(locked).toMatchObject({ state: 'up-to-date', historyStale: true, historyError: null, lastError: null });
    expect(locked.applied.map((a) => a.name)).toEqual(['001_users']);

    database.readersLockedOut = false;
    expect(await app.service.getStatus()).toMatchObject({ state: 'up-to-date', historyStale: false });
  });

  // Last, so that it sees every import the tests above made.
  it('never loaded better-sqlite3', () => {
    expect(Object.keys(require.cache).filter((path) => path.includes('better-sqlite3'))).toEqual([]);
  });
});

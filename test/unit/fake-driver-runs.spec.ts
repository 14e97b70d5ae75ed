import { InterruptedMigrationError, Migration, type MigrationInterface, MigrationFailedError } from '../../src/auto-migration';
import { closeFakeApps, type FakeConnection, FakeDatabase, fakeApp, fakeMigration } from '../helpers/fake-driver';
import { tableFor } from '../helpers/migrations';

/**
 * The real module's runs (apply, failures, interrupted attempts, escapes, revert) against the
 * in-memory fake driver: the runner, the applier and the lease speak only to the driver seam.
 */
describe('runs on a fake driver', () => {
  afterEach(closeFakeApps);

  const names = (database: FakeDatabase) => database.committed.history.map((h) => h.name);
  const tables = (database: FakeDatabase) => [...database.committed.tables].sort();

  it('applies pending migrations in order, each with its history row, and a later start applies nothing', async () => {
    const database = new FakeDatabase();
    const ran: string[] = [];
    const migrations = ['003_tags', '001_users', '002_posts'].map((name) =>
      fakeMigration(name, (db) => {
        ran.push(name);
        db.tables.add(tableFor(name));
      }),
    );
    const app = await fakeApp(database, migrations);

    await app.start();

    expect(ran).toEqual(['001_users', '002_posts', '003_tags']);
    expect(names(database)).toEqual(['001_users', '002_posts', '003_tags']);
    expect(database.committed.history.map((h) => h.description)).toEqual(['test 001_users', 'test 002_posts', 'test 003_tags']);
    expect(tables(database)).toEqual(['t_001_users', 't_002_posts', 't_003_tags']);
    expect(app.events.map((e) => e.type)).toEqual([
      'lock-acquired',
      'run-started',
      ...ran.flatMap(() => ['migration-started', 'migration-applied']),
      'lock-released',
      'run-finished',
    ]);
    expect(database.committed.lease.inProgress).toBe(false);
    expect(database.lockNote).toBeNull();
    const status = await app.service.getStatus();
    expect(status).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false } });
    expect(status.applied.map((a) => a.name)).toEqual(['001_users', '002_posts', '003_tags']);

    const again = await fakeApp(database, migrations);
    await again.start();
    expect(ran).toHaveLength(3);
    expect(again.events.map((e) => e.type)).toEqual(['run-finished']);
  });

  it('a failing migration rolls back its own writes and history row; the ones before it stay committed', async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(database, [
      fakeMigration('001_users'),
      fakeMigration('002_broken', (db) => {
        db.tables.add('half_built');
        throw new Error('boom');
      }),
      fakeMigration('003_later'),
    ]);

    const error = await app.start().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_broken', outcome: 'migration' });
    expect(names(database)).toEqual(['001_users']);
    expect(tables(database)).toEqual(['t_001_users']);
    expect(database.committed.attempts.size).toBe(0);
    expect(database.writer).toBeNull();
    expect(app.events.filter((e) => e.type === 'migration-failed').map((e) => e.type === 'migration-failed' && e.name)).toEqual(['002_broken']);
    const status = await app.service.getStatus();
    expect(status).toMatchObject({ state: 'failed', lastError: { code: 'MIGRATION_FAILED', migration: '002_broken' } });
    expect(status.pending.map((p) => p.name)).toEqual(['002_broken', '003_later']);
  });

  it("transactionMode 'all' rolls the whole batch back when one of it fails", async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(
      database,
      [
        fakeMigration('001_users'),
        fakeMigration('002_broken', (db) => {
          db.tables.add('half_built');
          throw new Error('boom');
        }),
      ],
      { transactionMode: 'all' },
    );

    await expect(app.start()).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_broken', outcome: 'batch' });

    expect(names(database)).toEqual([]);
    expect(tables(database)).toEqual([]);
    expect(database.committed.schema).toBe(true);
  });

  it('a transaction: false migration that throws leaves an attempt row; the next start refuses until it is resolved', async () => {
    const database = new FakeDatabase();
    let halfRuns = 0;
    const migrations = [
      fakeMigration('001_users'),
      fakeMigration(
        '002_outside',
        (db) => {
          halfRuns++;
          db.tables.add('half_built');
          throw new Error('halfway');
        },
        { transaction: false },
      ),
      fakeMigration('003_later'),
    ];
    const first = await fakeApp(database, migrations);

    await expect(first.start()).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_outside', outcome: 'none' });

    // Outside a transaction what it did stays; the attempt row says it may be half-applied.
    expect(tables(database)).toEqual(['half_built', 't_001_users']);
    expect(names(database)).toEqual(['001_users']);
    const [attempt] = database.committed.attempts.values();
    expect(attempt).toMatchObject({ name: '002_outside', error: expect.stringContaining('halfway') as string, owner: { pid: process.pid } });
    expect(attempt.failedAt).not.toBeNull();

    const next = await fakeApp(database, migrations);
    const refused = await next.start().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InterruptedMigrationError);
    expect(refused).toMatchObject({ code: 'INTERRUPTED_MIGRATION' });
    expect(halfRuns).toBe(1);
    expect(names(database)).toEqual(['001_users']);

    const status = await next.service.resolve('002_outside', 'applied');

    expect(halfRuns).toBe(1);
    expect(names(database)).toEqual(['001_users', '002_outside', '003_later']);
    expect(database.committed.attempts.size).toBe(0);
    expect(status).toMatchObject({ state: 'up-to-date', pending: [], lastError: null });
  });

  it("an up() that commits the runner's transaction itself is reported as escaped and recorded as interrupted", async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(database, [
      fakeMigration('001_users'),
      fakeMigration('002_escapes', (db) => {
        db.tables.add('before_commit');
        db.commit();
        db.begin();
        db.tables.add('after_begin');
      }),
      fakeMigration('003_later'),
    ]);

    await expect(app.start()).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_escapes', outcome: 'escaped' });

    // What it committed stays, with no history row; what it began after its COMMIT is rolled back.
    expect(tables(database)).toEqual(['before_commit', 't_001_users']);
    expect(names(database)).toEqual(['001_users']);
    const [attempt] = database.committed.attempts.values();
    expect(attempt).toMatchObject({ name: '002_escapes', error: expect.stringContaining('ended the transaction') as string });
    expect(database.writer).toBeNull();
    expect(app.logger.lines.some((line) => line.includes("ended the runner's transaction itself"))).toBe(true);
  });

  it('a transaction the database rolled back itself after an error is no escape: the migration failed, nothing is recorded', async () => {
    const database = new FakeDatabase();
    const app = await fakeApp(database, [fakeMigration('001_users'), fakeMigration('002_disk_full', (db) => (db.tables.add('lost'), db.failAndRollBack()))]);

    await expect(app.start()).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_disk_full', outcome: 'migration' });

    expect(tables(database)).toEqual(['t_001_users']);
    expect(database.committed.attempts.size).toBe(0);
  });

  it('revert runs down() and removes the history row, in one transaction', async () => {
    const database = new FakeDatabase();
    let downBreaks = true;
    @Migration({ name: '001_users', version: '1.0.0' })
    class CreateUsers implements MigrationInterface<FakeConnection> {
      up(db: FakeConnection) {
        db.tables.add('users');
      }
      down(db: FakeConnection) {
        db.tables.delete('users');
      }
    }
    @Migration({ name: '002_posts', version: '1.0.0' })
    class CreatePosts implements MigrationInterface<FakeConnection> {
      up(db: FakeConnection) {
        db.tables.add('posts');
      }
      down(db: FakeConnection) {
        db.tables.delete('posts');
        if (downBreaks) throw new Error('down broke');
      }
    }
    const app = await fakeApp(database, [CreateUsers, CreatePosts]);
    await app.start();

    // A down() that throws after its first write leaves the table and the history row.
    await expect(app.service.revert()).rejects.toMatchObject({ code: 'REVERT_FAILED', migration: '002_posts' });
    expect(tables(database)).toEqual(['posts', 'users']);
    expect(names(database)).toEqual(['001_users', '002_posts']);

    downBreaks = false;
    const result = await app.service.revert();

    expect(result).toMatchObject({ reverted: [{ name: '002_posts' }], backup: null });
    expect(tables(database)).toEqual(['users']);
    expect(names(database)).toEqual(['001_users']);
    const status = await app.service.getStatus();
    expect(status.pending.map((p) => p.name)).toEqual(['002_posts']);
  });

  // Last, so that it sees every import the tests above made.
  it('never loaded better-sqlite3', () => {
    expect(Object.keys(require.cache).filter((path) => path.includes('better-sqlite3'))).toEqual([]);
  });
});

import { Injectable, Module, Scope } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AutoMigrationModule,
  AutoMigrationService,
  DatabaseOperationFailedError,
  ForeignHistoryTableError,
  InvalidMigrationError,
  InvalidOptionsError,
  Migration,
  MigrationFailedError,
} from '../../src/auto-migration';
import { bootApp, bootFailure, UsesDatabase } from '../helpers/boot';
import { gatedMigration, migration } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/** Edge cases, each of which once ended in a raw error, a wrong message or a stuck state. */
describe('edge cases: foreign tables, locked files, migrations that misuse their transaction, bad wiring', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });

  it('refuses a migrations table created by another tool, naming it, and changes nothing', async () => {
    const other = new BetterSqlite3(t.db);
    other.exec("CREATE TABLE migrations (id INTEGER PRIMARY KEY, timestamp INTEGER, name TEXT); INSERT INTO migrations VALUES (1, 0, 'Init1')");
    other.close();
    const bytes = readFileSync(t.db);
    const { error } = await bootFailure({ ...base(), failOnError: false }, { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(ForeignHistoryTableError);
    expect(error.message).toContain('table "migrations" that nestjs-auto-migration did not create');
    expect(error.message).toContain('version, description, checksum, applied_at, execution_time_ms');
    expect(error.message).toContain('or use another database file; nothing was changed.');
    expect(readFileSync(t.db).equals(bytes)).toBe(true);
  });

  it('names the step and gives advice when another connection keeps the database locked', async () => {
    const holder = new BetterSqlite3(t.db);
    holder.exec('CREATE TABLE busy (id INTEGER); BEGIN IMMEDIATE; INSERT INTO busy VALUES (1)');
    try {
      const { error } = await bootFailure({ ...base(), pragmas: { busy_timeout: 100 } }, { migrations: [migration('001_a')] });
      expect(error).toBeInstanceOf(DatabaseOperationFailedError);
      expect(error).toMatchObject({ code: 'DATABASE_OPERATION_FAILED' });
      expect(error.message).toContain(
        `Could not prepare the module tables: database is locked. Another connection held a lock on "${t.db}" for longer than the busy timeout`,
      );
      expect(error.message).toContain('raise pragmas.busy_timeout');
    } finally {
      holder.close();
    }
  });

  it('rolls back a transaction a transaction: false migration left open when it threw, and frees everything', async () => {
    const leaky = migration(
      '001_leaky',
      (d) => {
        d.exec('BEGIN; CREATE TABLE leaked (id INTEGER)');
        throw new Error('after BEGIN');
      },
      { transaction: false },
    );
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations: [leaky], providers: [UsesDatabase] });
    const appDb = app.get(UsesDatabase).db;
    appDb.exec('CREATE TABLE still_writable (id INTEGER)'); // would fail with "database is locked" if left open
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(status.lastError).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_leaky' });
    expect(tableNames(t.db)).not.toContain('leaked');
    expect(inspect(t.db, (d) => d.prepare('SELECT in_progress FROM migration_lock').get())).toEqual({ in_progress: 0 });
  });

  it('refuses a transaction: false migration that forgets COMMIT, instead of recording it', async () => {
    const forgetful = migration(
      '001_forgot_commit',
      (d) => {
        d.exec('BEGIN; CREATE TABLE never_committed (id INTEGER)');
      },
      { transaction: false },
    );
    const { error } = await bootFailure(base(), { migrations: [forgetful, migration('002_next')] });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_forgot_commit' });
    expect(error.message).toContain('left a transaction open');
    expect(historyNames(t.db)).toEqual([]);
    expect(tableNames(t.db)).not.toContain('never_committed');
  });

  it('says so when a migration ends the runner transaction itself', async () => {
    const committer = migration('001_commits', (d) => {
      d.exec('CREATE TABLE committed_early (id INTEGER); COMMIT');
    });
    const { error } = await bootFailure(base(), { migrations: [committer] });
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as MigrationFailedError).outcome).toBe('escaped');
    expect(error.message).toContain("ended the runner's transaction itself");
    expect(historyNames(t.db)).toEqual([]);
  });

  it('in transactionMode "all", blames a failing COMMIT on the batch, not on its last migration alone', async () => {
    const badFk = migration(
      '001_bad_fk',
      (d) => {
        d.exec(`
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
        INSERT INTO child VALUES (1, 42);
      `);
      },
      { foreignKeys: 'enforce' },
    );
    const { error } = await bootFailure(
      { ...base(), transactionMode: 'all' },
      { migrations: [badFk, migration('002_fine', undefined, { foreignKeys: 'enforce' })] },
    );
    expect(error.message).toContain('committing 001_bad_fk, 002_fine failed: FOREIGN KEY constraint failed');
    expect(tableNames(t.db)).not.toContain('child');
    expect(historyNames(t.db)).toEqual([]);
  });

  it('refuses a migration that depends on a request-scoped provider, whatever failOnError says', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {}
    @Injectable()
    class NeedsRequest {
      constructor(readonly perRequest: PerRequest) {}
      up() {}
    }
    Migration({ name: '001_scoped', version: '1.0.0' })(NeedsRequest);
    const { error } = await bootFailure({ ...base(), failOnError: false }, { migrations: [NeedsRequest, PerRequest] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.message).toContain('NeedsRequest: depends on a request-scoped provider');
  });

  it('lets a running migration finish before shutdown closes the connections', async () => {
    const slow = gatedMigration('001_slow');
    const { app } = await bootApp(base(), { migrations: [slow.type] }, { init: false });
    const init = app.init();
    await slow.started;
    const closing = app.close();
    await sleep(50);
    slow.release();
    await Promise.all([init, closing]);
    expect(historyNames(t.db)).toEqual(['001_slow']);
    expect(inspect(t.db, (d) => d.prepare('SELECT * FROM slow').all())).toEqual([{ id: 1 }]);
    expect(inspect(t.db, (d) => d.prepare('SELECT in_progress FROM migration_lock').get())).toEqual({ in_progress: 0 });
  });

  it('applies pragmas to both connections; a new file gets WAL, an existing file keeps its journal mode unless asked', async () => {
    let migrationMode: unknown;
    const peek = migration('001_peek', (d) => {
      migrationMode = d.pragma('journal_mode', { simple: true });
    });
    const wal = await bootApp({ ...base(), pragmas: { journal_mode: 'wal', synchronous: 'normal' } }, { migrations: [peek], providers: [UsesDatabase] });
    const appDb = wal.app.get(UsesDatabase).db;
    expect(appDb.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(appDb.pragma('synchronous', { simple: true })).toBe(1);
    expect(migrationMode).toBe('wal');
    await wal.app.close();

    const fresh = await bootApp({ database: t.dir.file('fresh.db'), backup: false }, { migrations: [migration('001_a')], providers: [UsesDatabase] });
    expect(fresh.app.get(UsesDatabase).db.pragma('journal_mode', { simple: true })).toBe('wal');
    await fresh.app.close();

    const existing = t.dir.file('existing.db');
    new BetterSqlite3(existing).exec('CREATE TABLE kept (id INTEGER)').close();
    const plain = await bootApp({ database: existing, backup: false }, { migrations: [migration('001_a')], providers: [UsesDatabase] });
    expect(plain.app.get(UsesDatabase).db.pragma('journal_mode', { simple: true })).toBe('delete');
    await plain.app.close();
  });

  it('runs a class listed in two modules once, and resolves whenReady()', async () => {
    let runs = 0;
    const twice = migration('001_twice', () => {
      runs++;
    });
    @Module({ providers: [twice] })
    class FeatureModule {}
    const { app } = await bootApp({ database: t.db }, { migrations: [twice], imports: [FeatureModule] });
    await app.get(AutoMigrationService).whenReady();
    await app.close();
    expect(runs).toBe(1);
    expect(historyNames(t.db)).toEqual(['001_twice']);
  });

  it('logs the stack of a failing migration (the status never carries it)', async () => {
    const broken = migration('001_broken', () => {
      (undefined as unknown as { values: () => void }).values();
    });
    const { app, logger } = await bootApp({ ...base(), failOnError: false }, { migrations: [broken] });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(logger.traces.join('\n')).toMatch(/TypeError: Cannot read properties of undefined \(reading 'values'\)\n\s+at /);
    expect(JSON.stringify(status)).not.toMatch(/\n\s+at /);
  });

  it('refuses forRoot() without options with a clear error', () => {
    expect(() => (AutoMigrationModule.forRoot as (o?: unknown) => unknown)()).toThrow(InvalidOptionsError);
  });
});

import { Module, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AutoMigrationModuleOptions,
  AutoMigrationModule,
  AutoMigrationService,
  LockTimeoutError,
  type MigrationEvent,
  type MigrationOptions,
} from '../../src/auto-migration';
import { MIGRATION_DRIVER } from '../../src/auto-migration/auto-migration.constants';
import type { DatabaseDriver } from '../../src/auto-migration/driver/database-driver';
import type { HistoryProbe } from '../../src/auto-migration/driver/history-probe';
import type { AttemptRecord, HistoryRecord, HistoryStore } from '../../src/auto-migration/driver/history-store';
import type { LeaseRecord, LeaseStore, LockOwner } from '../../src/auto-migration/driver/lease-store';
import type { LockHolderNote, LockRequest, MigrationLock } from '../../src/auto-migration/driver/migration-lock';
import type { MigrationSession } from '../../src/auto-migration/driver/migration-session';
import { CapturingLogger } from './boot';
import { migration, tableFor } from './migrations';

/** How often a waiting `acquire()` tries the lock again (the SQLite lock backs off from 5 ms to 100 ms). */
const LOCK_POLL_MS = 5;

/** Everything a fake database holds: the module's tables and the tables migrations create. */
export interface FakeState {
  /** Whether the module's tables exist (`ensureSchema()` ran and committed). */
  schema: boolean;
  history: HistoryRecord[];
  archive: HistoryRecord[];
  attempts: Map<string, AttemptRecord>;
  lease: LeaseRecord;
  meta: Map<string, string>;
  /** What migrations wrote: the names of their tables. */
  tables: Set<string>;
}

/** A failure of the fake database itself; `code` says which (`FAKE_BUSY`, `FAKE_ROLLED_BACK`). */
export class FakeDatabaseError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const FREE_LEASE: LeaseRecord = { inProgress: false, owner: null, startedAt: null, heartbeatAt: null, current: null };

/**
 * One database shared by every "process" of a test: its committed state, one writer at a time,
 * and the migration lock. Each `connect()` is a process's own driver on it; a test holds the lock
 * or writes the lease row through one of its own to play another process.
 */
export class FakeDatabase {
  committed: FakeState = { schema: false, history: [], archive: [], attempts: new Map(), lease: FREE_LEASE, meta: new Map(), tables: new Set() };
  /** Commits so far, by any connection: the change marker. */
  commits = 0;
  /** While true, reads made without waiting answer "busy", as while another process's commit locks readers out. */
  readersLockedOut = false;
  /** The connection whose write transaction is open, if any: others cannot write meanwhile. */
  writer: FakeSession | null = null;
  /** Who holds the migration lock. */
  lockNote: LockHolderNote | null = null;

  /** A process's driver on this database. */
  connect(): FakeDriver {
    return new FakeDriver(this);
  }
}

/**
 * What `up(db)` and `down(db)` receive: a fake connection whose writes belong to the transaction
 * in progress (or commit at once outside one), and which can end that transaction itself, as a
 * migration that issues its own COMMIT does.
 */
export class FakeConnection {
  readonly tables = {
    add: (name: string) =>
      this.session.write((state) => {
        if (state.tables.has(name)) throw new Error(`table ${name} already exists`);
        state.tables.add(name);
      }),
    delete: (name: string) =>
      this.session.write((state) => {
        if (!state.tables.delete(name)) throw new Error(`no such table: ${name}`);
      }),
  };

  constructor(private readonly session: FakeSession) {}

  begin(): void {
    this.session.begin();
  }

  commit(): void {
    this.session.commit();
  }

  /** Fails the way a full disk does: the database rolls the whole transaction back itself, then the statement throws. */
  failAndRollBack(): never {
    this.session.rollback();
    throw new FakeDatabaseError('the fake storage ran out of room', 'FAKE_ROLLED_BACK');
  }
}

/**
 * One connection of a process: the module's tables, the lease row and transactions, as
 * `SqliteDriver` has them on the migration connection. A transaction works on a copy of the
 * committed state, put in place by `commit()` and dropped by `rollback()`.
 */
export class FakeSession implements HistoryStore, LeaseStore, MigrationSession {
  readonly connection: FakeConnection = new FakeConnection(this);
  private transaction: { id: number; state: FakeState } | null = null;
  private transactions = 0;
  /** The transaction the mark was opened in. */
  private mark: number | null = null;
  private waitless = 0;
  private closed = false;

  constructor(private readonly database: FakeDatabase) {}

  close(): void {
    this.rollback();
    this.closed = true;
  }

  /** Reads what this connection sees: its own transaction's state, or the committed one. */
  read<T>(reader: (state: FakeState) => T): T {
    this.assertOpen();
    if (this.waitless > 0 && this.database.readersLockedOut) throw new FakeDatabaseError('database is locked', 'FAKE_BUSY');
    return reader(this.transaction?.state ?? this.database.committed);
  }

  /** Writes inside the open transaction, or, outside one, as a transaction of its own (autocommit). */
  write(writer: (state: FakeState) => void): void {
    this.assertOpen();
    if (this.transaction) return writer(this.transaction.state);
    this.assertNoOtherWriter();
    const state = structuredClone(this.database.committed);
    writer(state);
    this.database.committed = state;
    this.database.commits++;
  }

  isSchemaCurrent(): boolean {
    return this.read((state) => state.schema);
  }

  assertTablesAreOurs(): void {
    this.assertOpen();
  }

  ensureSchema(): void {
    this.write((state) => {
      state.schema = true;
    });
  }

  readHistory(): HistoryRecord[] {
    return this.read((state) => [...state.archive.map((h) => ({ ...h, archived: true })), ...state.history.map((h) => ({ ...h }))]);
  }

  archive(cutoff: string): string[] {
    const names: string[] = [];
    this.writeTables((state) => {
      const old = state.history.filter((h) => Date.parse(h.appliedAt) < Date.parse(cutoff));
      state.archive.push(...old.filter((h) => !state.archive.some((a) => a.name === h.name)));
      state.history = state.history.filter((h) => !old.includes(h));
      names.push(...old.map((h) => h.name));
    });
    return names;
  }

  holdsOnlyModuleTables(): boolean {
    return this.read((state) => state.tables.size === 0 && state.history.length === 0 && state.archive.length === 0);
  }

  recordApplied(record: HistoryRecord): void {
    this.writeTables((state) => {
      if (state.history.some((h) => h.name === record.name)) throw new Error(`UNIQUE constraint failed: migrations.name (${record.name})`);
      state.history.push({ ...record, sourceHash: record.sourceHash ?? null });
    });
  }

  removeApplied(name: string): void {
    this.writeTables((state) => {
      state.history = state.history.filter((h) => h.name !== name);
    });
  }

  recordBaseline(to: string, at: string): void {
    this.writeTables((state) => {
      state.meta.set('baseline_to', to);
      state.meta.set('baseline_at', at);
    });
  }

  readAttempts(): AttemptRecord[] {
    return this.read((state) => [...state.attempts.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((a) => ({ ...a })));
  }

  startAttempt(name: string, version: string, owner: LockOwner): void {
    this.writeTables((state) => {
      state.attempts.set(name, { name, version, startedAt: now(), failedAt: null, error: null, owner: { ...owner } });
    });
  }

  failAttempt(name: string, error: string): void {
    this.writeTables((state) => {
      const attempt = state.attempts.get(name);
      if (attempt) state.attempts.set(name, { ...attempt, failedAt: now(), error });
    });
  }

  clearAttempt(name: string): void {
    this.writeTables((state) => {
      state.attempts.delete(name);
    });
  }

  repair(checksums: ReadonlyMap<string, { checksum: string; sourceHash: string | null }>, at: string): void {
    this.writeTables((state) => {
      state.history = state.history.map((h) => ({ ...h, ...checksums.get(h.name) }));
      state.attempts.clear();
      state.meta.set('last_repair_at', at);
    });
  }

  readLease(): LeaseRecord | null {
    return this.read((state) => (state.schema ? { ...state.lease } : null));
  }

  writeLease(owner: LockOwner | null): void {
    const at = now();
    this.writeTables((state) => {
      state.lease = owner ? { inProgress: true, owner: { ...owner }, startedAt: at, heartbeatAt: at, current: null } : FREE_LEASE;
    });
  }

  heartbeat(current?: string | null): void {
    this.writeTables((state) => {
      state.lease = { ...state.lease, heartbeatAt: now(), ...(current !== undefined && { current }) };
    });
  }

  /** Runs reads that must not wait: null at once while readers are locked out. */
  now<T>(work: () => T): T | null {
    this.waitless++;
    try {
      return work();
    } catch (error) {
      if (error instanceof FakeDatabaseError && error.code === 'FAKE_BUSY') return null;
      throw error;
    } finally {
      this.waitless--;
    }
  }

  /** A value that moves with every commit of any connection. */
  commitCount(): number {
    return this.read(() => this.database.commits);
  }

  assertIntact(): void {
    this.assertOpen();
  }

  inTransaction(): boolean {
    return this.transaction !== null;
  }

  begin(): void {
    this.assertOpen();
    if (this.transaction) throw new Error('cannot start a transaction within a transaction');
    this.assertNoOtherWriter();
    this.transaction = { id: ++this.transactions, state: structuredClone(this.database.committed) };
    this.database.writer = this;
  }

  openMark(): void {
    if (!this.transaction) throw new Error('openMark() outside a transaction');
    this.mark = this.transaction.id;
  }

  releaseMark(): boolean {
    // Gone with the transaction it was opened in, whatever began after it.
    const held = this.mark !== null && this.mark === this.transaction?.id;
    this.mark = null;
    return held;
  }

  rollsBackOn(error: unknown): boolean {
    return error instanceof FakeDatabaseError && error.code === 'FAKE_ROLLED_BACK';
  }

  commit(): void {
    if (!this.transaction) throw new Error('cannot commit - no transaction is active');
    this.database.committed = this.transaction.state;
    this.database.commits++;
    this.end();
  }

  rollback(): void {
    if (this.transaction) this.end();
  }

  private end(): void {
    this.transaction = null;
    if (this.database.writer === this) this.database.writer = null;
  }

  /** A write to the module's tables, which exist only once `ensureSchema()` has run. */
  private writeTables(writer: (state: FakeState) => void): void {
    this.write((state) => {
      if (!state.schema) throw new Error('no such table: migrations (the module tables do not exist yet)');
      writer(state);
    });
  }

  private assertNoOtherWriter(): void {
    if (this.database.writer && this.database.writer !== this) throw new FakeDatabaseError('database is locked (another connection is writing)', 'FAKE_BUSY');
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The database connection is not open');
  }
}

/**
 * The migration lock of a fake database: one holder at a time, across every driver on it. A
 * waiting `acquire()` polls on timers, asks `stillNeeded` between tries and gives up after
 * `timeoutMs`, as the SQLite file lock does.
 */
export class FakeLock implements MigrationLock {
  private mine = false;

  constructor(private readonly database: FakeDatabase) {}

  async acquire({ timeoutMs, owner, onWait, stillNeeded }: LockRequest): Promise<boolean> {
    if (this.mine) throw new Error('the fake migration lock is already held by this driver');
    const started = Date.now();
    for (let waiting = false; ;) {
      if (this.database.lockNote === null) {
        this.database.lockNote = { owner, since: now() };
        this.mine = true;
        return true;
      }
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new LockTimeoutError(waited);
      if (!waiting) {
        waiting = true;
        onWait?.();
      }
      await sleep(Math.min(LOCK_POLL_MS, timeoutMs - waited));
      if (stillNeeded && !(await stillNeeded())) return false;
    }
  }

  release(): Promise<void> {
    if (this.mine) this.database.lockNote = null;
    this.mine = false;
    return Promise.resolve();
  }

  isHeld(): Promise<boolean> {
    return Promise.resolve(this.database.lockNote !== null);
  }

  holder(): LockHolderNote | null {
    return this.database.lockNote;
  }
}

/** The lock-free reads, on a connection of their own (the app's, as the SQLite driver has them). */
export class FakeHistoryProbe implements HistoryProbe {
  constructor(private readonly reader: FakeSession) {}

  history(): HistoryRecord[] | 'not-current' | null {
    return this.reader.now(() => (this.reader.isSchemaCurrent() ? this.reader.readHistory() : 'not-current'));
  }

  preflight(): { history: HistoryRecord[]; attempts: AttemptRecord[] } | null {
    return this.reader.now(() => {
      this.reader.assertTablesAreOurs();
      return { history: this.reader.readHistory(), attempts: this.reader.readAttempts() };
    });
  }

  lease(): LeaseRecord | null {
    return this.reader.now(() => this.reader.readLease());
  }

  changeMarker(): string | null {
    return this.reader.now(() => String(this.reader.commitCount()));
  }
}

/** A process's driver on a fake database: one connection for migrations, one for the app, the shared lock; no optional capabilities. */
export class FakeDriver implements DatabaseDriver {
  readonly target = 'fake database';
  readonly inMemory = false;
  readonly session: FakeSession;
  readonly history: FakeSession;
  readonly lease: FakeSession;
  readonly lock: FakeLock;
  readonly probe: FakeHistoryProbe;
  readonly appHandle: FakeConnection;
  private readonly app: FakeSession;

  constructor(database: FakeDatabase) {
    this.session = this.history = this.lease = new FakeSession(database);
    this.app = new FakeSession(database);
    this.appHandle = this.app.connection;
    this.probe = new FakeHistoryProbe(this.app);
    this.lock = new FakeLock(database);
  }

  async close(): Promise<void> {
    await this.lock.release();
    this.session.close();
    this.app.close();
  }
}

/** A migration class for the fake database; its `up` adds the table `tableFor(name)` unless given another. */
export function fakeMigration(
  name: string,
  up: (db: FakeConnection) => void | Promise<void> = (db) => db.tables.add(tableFor(name)),
  options: Partial<MigrationOptions> = {},
): Type<unknown> {
  return migration(name, up as unknown as Parameters<typeof migration>[1], options);
}

function now(): string {
  return new Date().toISOString();
}

/** The real module, booted as a process of its own on a fake database. */
export interface FakeApp {
  readonly moduleRef: TestingModule;
  readonly service: AutoMigrationService;
  /** This process's driver: the one `MIGRATION_DRIVER` provides. */
  readonly driver: FakeDriver;
  /** Every event of `events$`, from before the start on. */
  readonly events: MigrationEvent[];
  readonly logger: CapturingLogger;
  /** Runs Nest's init hooks: the start's run (mode 'blocking' unless the options say otherwise). */
  start(): Promise<void>;
}

/** Every app `fakeApp()` made and not closed yet, with the error its start rejected with. */
const booted = new Map<TestingModule, { startError?: unknown }>();

/**
 * Compiles the real `AutoMigrationModule` with `migrations` as providers of a module of their own,
 * its driver replaced by a new one on `database`; `start()` runs the start. Backups off, no status
 * controller; `options` may change the rest. Close them all with `closeFakeApps()`.
 */
export async function fakeApp(database: FakeDatabase, migrations: Type<unknown>[], options: Partial<AutoMigrationModuleOptions> = {}): Promise<FakeApp> {
  @Module({ providers: migrations })
  class FakeMigrationsModule {}

  const driver = database.connect();
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [AutoMigrationModule.forRoot({ database: ':memory:', backup: false, statusController: false, ...options }), FakeMigrationsModule],
  })
    .overrideProvider(MIGRATION_DRIVER)
    .useValue(driver)
    .setLogger(logger)
    .compile();
  const run: { startError?: unknown } = {};
  booted.set(moduleRef, run);
  const service = moduleRef.get(AutoMigrationService);
  const events: MigrationEvent[] = [];
  service.events$.subscribe((event) => events.push(event));
  const start = async () => {
    try {
      await moduleRef.init();
    } catch (error) {
      run.startError = error;
      throw error;
    }
  };
  return { moduleRef, service, driver, events, logger, start };
}

/** Shuts down every app `fakeApp()` made, as Nest does (the module releases the lock and closes its driver). */
export async function closeFakeApps(): Promise<void> {
  const apps = [...booted];
  booted.clear();
  // Nest's close() rejects again with the error its init rejected with: the test has seen that one.
  await Promise.all(
    apps.map(([app, { startError }]) =>
      app.close().catch((error: unknown) => {
        if (error !== startError) throw error;
      }),
    ),
  );
}

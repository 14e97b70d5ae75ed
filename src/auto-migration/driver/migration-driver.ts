/**
 * The database seam. The runner speaks only to these small contracts, so a driver for another
 * database (PostgreSQL is next) plugs in without touching it. Methods may answer synchronously
 * (SQLite) or with a Promise (a networked database); the runner awaits both.
 */

type MaybePromise<T> = T | Promise<T>;

/** One row of the history table, as the status reports it. */
export interface HistoryRecord {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly checksum: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly appliedAt: string;
  readonly executionTimeMs: number;
  /** Moved to `migrations_archive`: still applied, no longer checksum-validated. */
  readonly archived?: boolean;
  /** Hash of the class's raw source when it was applied (null: not known, e.g. an explicit checksum or an older release). */
  readonly sourceHash?: string | null;
}

/** Who holds, or held, the migration lock. */
export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  /** Random per module instance: tells apart two apps in one process, or a reused pid. */
  readonly instanceId: string;
}

/** The visible lease row. Informational: the operating-system lock decides who runs. */
export interface LeaseRecord {
  readonly inProgress: boolean;
  readonly owner: LockOwner | null;
  readonly startedAt: string | null;
  readonly heartbeatAt: string | null;
  /** The `transaction: false` migration running, if any. */
  readonly current: string | null;
}

/** A `transaction: false` migration that started and did not finish: it may be half-applied. */
export interface AttemptRecord {
  readonly name: string;
  readonly version: string;
  readonly startedAt: string;
  /** Set when it threw; null when its runner died (or is still running it). */
  readonly failedAt: string | null;
  readonly error: string | null;
  readonly owner: LockOwner | null;
}

/** History store, lease row and transactions of one database. */
export interface MigrationDriver {
  /** The connection handed to `up(db)` and `down(db)`. */
  readonly connection: unknown;
  /** Whether the module's own tables exist at this release's schema version. Lock-free and cheap. */
  isSchemaCurrent(): MaybePromise<boolean>;
  /** Refuses (`ForeignHistoryTableError`) tables of the module's names that another tool created. Reads only. */
  assertTablesAreOurs(): MaybePromise<void>;
  /** Creates or upgrades the module's own tables, inside the caller's transaction. Called only while holding the lock. */
  ensureSchema(): MaybePromise<void>;
  /** Applied migrations, archived ones first, then in application order; none before the module's tables exist. */
  readHistory(): MaybePromise<HistoryRecord[]>;
  /** Moves history rows applied before `cutoff` (ISO-8601) to the archive (inside the caller's transaction); returns their names. */
  archive(cutoff: string): MaybePromise<string[]>;
  /** Whether the database holds nothing but the module's own (empty) tables: a new database needs no backup. */
  holdsOnlyModuleTables(): MaybePromise<boolean>;
  /** Writes a history row (inside the migration's transaction when it has one). */
  recordApplied(record: HistoryRecord): MaybePromise<void>;
  /** Deletes a history row: the migration was reverted (inside the caller's transaction). */
  removeApplied(name: string): MaybePromise<void>;
  /** Records that the history up to `to` was baselined, not run (inside the caller's transaction). */
  recordBaseline(to: string, at: string): MaybePromise<void>;
  /** The lease row, or null before the module's tables exist. */
  readLease(): MaybePromise<LeaseRecord | null>;
  /** Marks the lease taken by `owner` (now), or clears it. */
  writeLease(owner: LockOwner | null): MaybePromise<void>;
  /** Refreshes the lease heartbeat; with `current`, also names the running migration (null clears it). */
  heartbeat(current?: string | null): MaybePromise<void>;
  /** Interrupted `transaction: false` migrations; none before the module's tables exist. */
  readAttempts(): MaybePromise<AttemptRecord[]>;
  startAttempt(name: string, version: string, owner: LockOwner): MaybePromise<void>;
  failAttempt(name: string, error: string): MaybePromise<void>;
  clearAttempt(name: string): MaybePromise<void>;
  /**
   * Runs reads that must not wait on another connection's lock (a status probe, the lock-free
   * start): answers null at once, instead of blocking, while another connection holds a lock.
   */
  withoutWaiting<T>(work: () => T | Promise<T>): Promise<T | null>;
  /**
   * Reads every page and throws (an error of kind 'damaged', see `classifyCause`) when the file
   * is damaged. Before the first write of every run, backup or not (a backup's copy leaves out the
   * free pages, so it can be sound while the file is not): nothing may write to a damaged file.
   */
  assertIntact(): MaybePromise<void>;
  /** Stores new checksums, clears every interrupted attempt and records when (inside the caller's transaction). */
  repair(checksums: ReadonlyMap<string, { checksum: string; sourceHash: string | null }>, at: string): MaybePromise<void>;
  /** Turns foreign-key enforcement on or off on the migration connection (outside a transaction); returns the previous setting. */
  setForeignKeys(on: boolean): MaybePromise<boolean>;
  /**
   * Rows violating foreign keys right now, counted per table; `unchecked` lists tables whose
   * foreign keys SQLite cannot check (a parent key that is not unique).
   */
  foreignKeyViolations(): MaybePromise<{ counts: Map<string, number>; unchecked: string[] }>;
  /** Whether the migration connection is inside a transaction (a heartbeat must wait for its end). */
  inTransaction(): boolean;
  begin(): MaybePromise<void>;
  /**
   * Inside the runner's transaction, right before a migration's `up()`: marks the point that
   * `releaseMark()` checks afterwards.
   */
  openMark(): MaybePromise<void>;
  /**
   * After `up()`: releases the mark (its changes stay in the runner's transaction). False when the
   * mark is gone: the transaction it was opened in ended inside `up()` (a COMMIT or ROLLBACK of
   * its own, perhaps followed by a new BEGIN, or a rollback the database made after an error).
   */
  releaseMark(): MaybePromise<boolean>;
  /**
   * Whether the database rolls a whole transaction back by itself when a statement fails with
   * `error` (disk full, I/O error, ...): a mark gone after such an error does not mean that
   * `up()` committed anything.
   */
  rollsBackOn(error: unknown): boolean;
  commit(): MaybePromise<void>;
  rollback(): MaybePromise<void>;
}

/** Mutual exclusion between processes migrating the same database. */
export interface MigrationLock {
  /**
   * Resolves `true` once this process holds the lock. Waits without blocking the event loop, calls
   * `onWait` once if the lock is taken, and rejects with `LockTimeoutError` after `timeoutMs`.
   * While it waits, `stillNeeded` (if given) is asked between attempts: when it answers false
   * (another process did the work meanwhile) the wait ends with `false`, without the lock.
   */
  acquire(timeoutMs: number, onWait?: () => void, stillNeeded?: () => Promise<boolean>): Promise<boolean>;
  /** Gives the lock up. Idempotent: shutdown may call it while a run is still unwinding. */
  release(): void;
  /** Whether any process (this one included) holds the lock right now. Does not wait. */
  isHeld(): boolean;
}

/**
 * The database seam. The runner speaks only to these two small contracts, so a driver for
 * another database (PostgreSQL is next) plugs in without touching it. Methods may answer
 * synchronously (SQLite) or with a Promise (a networked database); the runner awaits both.
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
}

/** History store and transactions of one database. */
export interface MigrationDriver {
  /** The connection handed to `up(db)` and `down(db)`. */
  readonly connection: unknown;
  /** Whether the module's own tables exist at this release's schema version. Lock-free and cheap. */
  isSchemaCurrent(): MaybePromise<boolean>;
  /** Creates or upgrades the module's own tables. Called only while holding the lock. */
  ensureSchema(): MaybePromise<void>;
  /** Applied migrations, in application order. */
  readHistory(): MaybePromise<HistoryRecord[]>;
  /** Writes a history row (inside the migration's transaction when it has one). */
  recordApplied(record: HistoryRecord): MaybePromise<void>;
  /** Marks the visible lease row taken (`in_progress = 1`) or free. Informational only. */
  writeLease(held: boolean): MaybePromise<void>;
  begin(): MaybePromise<void>;
  commit(): MaybePromise<void>;
  rollback(): MaybePromise<void>;
}

/** Mutual exclusion between processes migrating the same database. */
export interface MigrationLock {
  /**
   * Resolves once this process holds the lock. Waits without blocking the event loop and
   * rejects with `LockTimeoutError` after `timeoutMs`.
   */
  acquire(timeoutMs: number): Promise<void>;
  /** Gives the lock up. Idempotent: shutdown may call it while a run is still unwinding. */
  release(): void;
}

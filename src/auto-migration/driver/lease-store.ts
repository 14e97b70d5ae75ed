import type { MaybePromise } from './maybe-promise';

/**
 * Who holds, or held, the migration lock.
 * @inline Not exported by name: the API reference shows its fields where it is used.
 */
export interface LockOwner {
  /** The host name (`os.hostname()`). */
  readonly host: string;
  /** The process id on that host. */
  readonly pid: number;
  /** Random per module instance: tells apart two apps in one process, or a reused pid. */
  readonly instanceId: string;
}

/** The visible lease row. Informational: the lock itself decides who runs. */
export interface LeaseRecord {
  readonly inProgress: boolean;
  readonly owner: LockOwner | null;
  readonly startedAt: string | null;
  readonly heartbeatAt: string | null;
  /** The `transaction: false` migration running, if any. */
  readonly current: string | null;
}

/** The lease row: who holds the lock, since when, whether it still beats, what it runs. */
export interface LeaseStore {
  /** The lease row, or null before the module's tables exist. */
  readLease(): MaybePromise<LeaseRecord | null>;
  /** Marks the lease taken by `owner` (now), or clears it. */
  writeLease(owner: LockOwner | null): MaybePromise<void>;
  /** Refreshes the lease heartbeat; with `current`, also names the running migration (null clears it). */
  heartbeat(current?: string | null): MaybePromise<void>;
  /**
   * True when `heartbeat()` writes through a connection of its own (PostgreSQL: the status pool),
   * so it may beat while a migration's transaction or a long statement keeps the migration
   * session busy. Otherwise it waits for the transaction's end.
   */
  readonly beatsOnItsOwn?: boolean;
}

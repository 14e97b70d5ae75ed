import type { LockOwner } from './lease-store';
import type { MaybePromise } from './maybe-promise';

/** Who holds the lock, as the lock itself can name them (readable while a writer locks the database out). */
export interface LockHolderNote {
  readonly owner: LockOwner;
  /** ISO-8601: when it took the lock. */
  readonly since: string;
  /** PostgreSQL: the holder's lock session, as the server shows it. */
  readonly session?: LockSession;
}

/**
 * The session holding a database-side lock (PostgreSQL): its backend, and what it is doing (`idle in transaction`, `active (waiting on Lock/virtualxid)`).
 * @inline Not exported by name: the API reference shows its fields where it is used.
 */
export interface LockSession {
  /** `pg_stat_activity.pid`: what `pg_terminate_backend()` takes. */
  readonly backendPid: number;
  /** `pg_stat_activity.state`, with what it waits on; null when the server does not show it to this role. */
  readonly state: string | null;
}

/** What `MigrationLock.acquire()` is asked. */
export interface LockRequest {
  /** Give up (`LockTimeoutError`) after this long. */
  readonly timeoutMs: number;
  /** Who takes it: named to other processes while it holds the lock, where the lock can do that. */
  readonly owner: LockOwner;
  /** Called once if the lock is taken by another holder. */
  readonly onWait?: () => void;
  /**
   * Asked between attempts while waiting: when it answers false (another process did the work
   * meanwhile) the wait ends with `false`, without the lock.
   */
  readonly stillNeeded?: () => Promise<boolean>;
}

/** Mutual exclusion between processes migrating the same database. */
export interface MigrationLock {
  /**
   * Resolves `true` once this process holds the lock. Waits without blocking the event loop and
   * rejects with `LockTimeoutError` after `timeoutMs`; `false` when `stillNeeded` answered false.
   */
  acquire(request: LockRequest): Promise<boolean>;
  /** Gives the lock up. Idempotent: shutdown may call it while a run is still unwinding. */
  release(): Promise<void>;
  /** Whether any process (this one included) holds the lock right now. Does not wait. */
  isHeld(): Promise<boolean>;
  /** Who holds it, if the lock can tell (null when it cannot, or nobody does). Not proof that it is held: ask `isHeld()`. */
  holder(): MaybePromise<LockHolderNote | null>;
}

import type { MaybePromise } from './maybe-promise';

/**
 * The connection migrations run on, and its transactions. `up(db)` and `down(db)` receive
 * `connection`: a connection of its own, so nothing the application does meanwhile can land inside
 * a migration's transaction.
 */
export interface MigrationSession {
  /** The connection handed to `up(db)` and `down(db)`. */
  readonly connection: unknown;
  /**
   * Reads every page and throws (an error of kind 'damaged', see `classifyCause`) when the
   * database is damaged. Before the first write of every run: nothing may write to a damaged database.
   */
  assertIntact(): MaybePromise<void>;
  /** Whether the connection is inside a transaction (a heartbeat must wait for its end). */
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
  /**
   * Commits the runner's transaction. A driver whose lock lives apart from this connection (a
   * networked database's lock session) first checks that the lock is still held, and rejects
   * instead of committing when it is not: work done without the lock must never commit.
   */
  commit(): MaybePromise<void>;
  rollback(): MaybePromise<void>;
  /**
   * Runs a migration's code that asked for no transaction (`transaction: false`), with what the
   * driver sets around every migration (PostgreSQL: first the check that the lock is still held,
   * then its timeouts and search path for the session, reset afterwards). Absent: nothing to set.
   */
  outside?<T>(work: () => Promise<T>): Promise<T>;
}

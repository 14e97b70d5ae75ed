import type { AttemptRecord, HistoryRecord } from './history-store';
import type { LeaseRecord } from './lease-store';
import type { MaybePromise } from './maybe-promise';

/**
 * Reads that never wait on another connection's lock and never take the migration lock: the start
 * with nothing pending, a status, a health probe, a replica waiting for another's run. Each answers
 * null at once, instead of blocking, while another connection's commit locks readers out. They run
 * on a reader of their own (SQLite: the application's connection, each read whole and synchronous;
 * a networked database: a small probe pool), so the migration connection opens only for work.
 */
export interface HistoryProbe {
  /** The history when the module's tables are at this release's version, `'not-current'` before (missing or older tables). */
  history(): MaybePromise<HistoryRecord[] | 'not-current' | null>;
  /** After refusing tables of another tool (`ForeignHistoryTableError`): the history and the interrupted attempts. */
  preflight(): MaybePromise<{ history: HistoryRecord[]; attempts: AttemptRecord[] } | null>;
  /** The lease row; null when there is none, or it cannot be read now. */
  lease(): MaybePromise<LeaseRecord | null>;
  /**
   * A value that changes whenever any process (this one included) commits a change to the
   * database, and may change more often: equal values mean the history read before is still the
   * history. Null when it cannot be read now.
   */
  changeMarker(): MaybePromise<string | null>;
}

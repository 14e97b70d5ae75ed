import type { LockOwner } from './lease-store';
import type { MaybePromise } from './maybe-promise';

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

/**
 * A `transaction: false` migration that started and did not finish: it may be half-applied.
 * @inline Not exported by name: the API reference shows its fields where it is used.
 */
export interface AttemptRecord {
  /** The migration's name. */
  readonly name: string;
  /** Its version, as recorded when the attempt started. */
  readonly version: string;
  /** When the attempt started (ISO-8601). */
  readonly startedAt: string;
  /** Set when it threw; null when its runner died (or is still running it). */
  readonly failedAt: string | null;
  /** The message it threw with; null when its runner died. */
  readonly error: string | null;
  /** The process that made the attempt; null when it was not recorded. */
  readonly owner: LockOwner | null;
}

/**
 * The module's tables: the history, the archive, interrupted attempts and the module's metadata.
 * Writes happen inside the caller's transaction (see `MigrationSession`), so a history row commits
 * with its migration.
 */
export interface HistoryStore {
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
  /** Interrupted `transaction: false` migrations; none before the module's tables exist. */
  readAttempts(): MaybePromise<AttemptRecord[]>;
  startAttempt(name: string, version: string, owner: LockOwner): MaybePromise<void>;
  failAttempt(name: string, error: string): MaybePromise<void>;
  clearAttempt(name: string): MaybePromise<void>;
  /** Stores new checksums, clears every interrupted attempt and records when (inside the caller's transaction). */
  repair(checksums: ReadonlyMap<string, { checksum: string; sourceHash: string | null }>, at: string): MaybePromise<void>;
}

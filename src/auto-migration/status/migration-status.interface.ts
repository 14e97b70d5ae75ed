/** Where the schema stands, as `GET /migrations/status` and `getStatus()` report it. */
export type MigrationRunState = 'up-to-date' | 'pending' | 'running' | 'failed';

/** An applied migration, from the history table. */
export interface AppliedMigrationStatus {
  name: string;
  version: string;
  description: string;
  checksum: string;
  /** ISO-8601 UTC with milliseconds. */
  appliedAt: string;
  executionTimeMs: number;
}

/** A discovered migration that is not applied yet. */
export interface PendingMigrationStatus {
  name: string;
  version: string;
  description: string;
}

/** The failure behind state `failed`. Never carries a file path or a stack trace. */
export interface MigrationStatusError {
  /** The migration that failed, or `null` when the failure is not tied to one (a lock timeout). */
  migration: string | null;
  /** Stable error code, e.g. `MIGRATION_FAILED`, `LOCK_TIMEOUT`. */
  code: string;
  message: string;
}

/** The status document. */
export interface MigrationStatus {
  state: MigrationRunState;
  applied: AppliedMigrationStatus[];
  pending: PendingMigrationStatus[];
  lastError: MigrationStatusError | null;
  lock: {
    /** Whether this instance holds the migration lock right now. */
    held: boolean;
  };
}

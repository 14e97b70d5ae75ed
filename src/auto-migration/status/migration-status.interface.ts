/**
 * Where the schema stands, as `GET /migrations/status` and `getStatus()` report it. `running`
 * while a run of this instance is in progress, or while any process holds the migration lock.
 */
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
  /** Moved to `migrations_archive` by `archiveHistory()`: still applied. */
  archived: boolean;
}

/** A discovered migration that is not applied yet. */
export interface PendingMigrationStatus {
  name: string;
  version: string;
  description: string;
}

/** An applied migration this code does not have (a newer release applied it). */
export interface UnknownMigrationStatus {
  name: string;
  version: string;
  appliedAt: string;
}

/** The failure behind state `failed`. Never carries a file path or a stack trace. */
export interface MigrationStatusError {
  /** The migration that failed, or `null` when the failure is not tied to one (a lock timeout). */
  migration: string | null;
  /** Stable error code, e.g. `MIGRATION_FAILED`, `LOCK_TIMEOUT`. */
  code: string;
  message: string;
}

/** The migration lock, as seen from this instance. */
export interface MigrationLockStatus {
  /** Whether any process holds the migration lock (the operating-system lock, probed at most once a second, and again when this instance takes or releases it). */
  held: boolean;
  /**
   * The holder: host name, process id and module instance id. Read from the holder file beside
   * the lock, so it is known even while the holder's commit locks everyone out of the database;
   * from the lease row for a holder of an earlier release. Null when nobody holds the lock, or
   * (rarely) a holder cannot be named yet.
   */
  owner: { host: string; pid: number; instanceId: string } | null;
  /** When the holder took the lock. */
  since: string | null;
  /** The holder's last heartbeat, from the lease row; null while the lease row cannot be read. */
  heartbeatAt: string | null;
  /** The `transaction: false` migration the holder is running, if any. */
  current: string | null;
  /**
   * The heartbeat is older than `lock.staleAfterMs`. The holder is alive (it holds the lock) but
   * may be inside a long synchronous statement; this never frees the lock.
   */
  suspect: boolean;
  /**
   * PostgreSQL only: the holder's lock session as the server shows it: its backend process id
   * (`pg_stat_activity.pid`, what `pg_terminate_backend()` takes) and its state, with what it
   * waits on (`idle in transaction`; `active (waiting on Lock/virtualxid)`).
   */
  session?: { backendPid: number; state: string | null };
}

/** The newest backup of this database in the backup folder. */
export interface BackupStatus {
  /** File name only (the folder is never shown). */
  file: string;
  createdAt: string;
  sizeBytes: number;
  /**
   * Set by `AutoMigrationService.backup()` only: true when the newest backup already held this
   * exact state, so it was returned and no new copy was written (identical copies would push
   * older states out of retention).
   */
  reused?: boolean;
}

/** The status document. */
export interface MigrationStatus {
  /** The instance's name; present only for a named instance (`forRoot({ name })`), so the default one's document is unchanged. */
  database?: string;
  state: MigrationRunState;
  applied: AppliedMigrationStatus[];
  pending: PendingMigrationStatus[];
  /** Applied migrations missing from this code (rolling deployments); they count as applied. */
  unknown: UnknownMigrationStatus[];
  lastError: MigrationStatusError | null;
  lock: MigrationLockStatus;
  /** The newest backup of this database, or null (none yet, or backups off). */
  lastBackup: BackupStatus | null;
  /**
   * When `applied`, `pending` and `unknown` were last read from the database, or found unchanged
   * there (ISO-8601; the history is re-read only when the database changed), or null when this
   * process has not been able to read the history yet (then all three are empty: unknown, not
   * "nothing").
   */
  historyReadAt: string | null;
  /**
   * The history could not be read just now: usually another process's commit locks readers out of
   * the database for a moment (a large migration, with a rollback journal); `historyError` says
   * when it was something else. The lists are as of `historyReadAt`. Never a failure by itself:
   * `state` says what is going on (`running` while another process holds the migration lock).
   */
  historyStale: boolean;
  /**
   * Why the last re-read failed when it was not a lock (a damaged file, a table dropped by hand),
   * without file paths; `null` otherwise.
   */
  historyError: string | null;
}

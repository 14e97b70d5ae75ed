/**
 * Where the schema stands, as `GET /migrations/status` and `getStatus()` report it. `running`
 * while a run of this instance is in progress, or while any process holds the migration lock.
 */
export type MigrationRunState = 'up-to-date' | 'pending' | 'running' | 'failed';

/** An applied migration, from the history table. */
export interface AppliedMigrationStatus {
  /** The migration's `name` (a class's decorator, or a `.sql` file's name without `.sql`), as the history recorded it. */
  name: string;
  /** The release that introduced it, as recorded when it was applied. */
  version: string;
  /** As recorded when it was applied; `''` when it had none. */
  description: string;
  /**
   * SHA-256 (hex) of the migration's code as recorded when it was applied (or accepted by the last
   * `repair()`): every start compares it with the code's, so an edited applied migration is caught.
   */
  checksum: string;
  /** ISO-8601 UTC with milliseconds. */
  appliedAt: string;
  /**
   * How long its `up()` ran, in whole milliseconds (the commit not included); `0` for a migration
   * recorded without running (`baseline()`, `resolve(name, 'applied')`).
   */
  executionTimeMs: number;
  /** Moved to `migrations_archive` by `archiveHistory()`: still applied. */
  archived: boolean;
}

/** A discovered migration that is not applied yet. */
export interface PendingMigrationStatus {
  /** The migration's `name`. */
  name: string;
  /** The release that introduced it: the decorator's `version`, or a `.sql` file's `-- version:` header. */
  version: string;
  /** Its `description`; `''` when it has none. */
  description: string;
}

/** An applied migration this code does not have (a newer release applied it). */
export interface UnknownMigrationStatus {
  /** The name the history recorded: no migration of this code has it. */
  name: string;
  /** The release that introduced it, as recorded: which release of the app is ahead of this one. */
  version: string;
  /** When it was applied (ISO-8601 UTC). */
  appliedAt: string;
}

/** The failure behind state `failed`. Never carries a file path or a stack trace. */
export interface MigrationStatusError {
  /** The migration that failed, or `null` when the failure is not tied to one (a lock timeout). */
  migration: string | null;
  /**
   * Stable error code, e.g. `MIGRATION_FAILED`, `LOCK_TIMEOUT` (the `code` of the module's error
   * classes), or `UNEXPECTED_ERROR` for an error that is not one of the module's.
   */
  code: string;
  /** The error's message, which says what to do, with file paths and the options' secrets (passwords, connection strings) replaced. */
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
  owner: {
    /** The holder's host name (`os.hostname()`). */
    host: string;
    /** The holder's process id on that host. */
    pid: number;
    /** Random per module instance: tells apart two apps in one process, or a reused pid. */
    instanceId: string;
  } | null;
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
  session?: {
    /** `pg_stat_activity.pid` of the lock session: what `pg_terminate_backend()` takes. */
    backendPid: number;
    /** Its state with what it waits on, e.g. `idle in transaction`; null when the server does not show it to this role. */
    state: string | null;
  };
}

/** The newest backup of this database in the backup folder. */
export interface BackupStatus {
  /** File name only (the folder is never shown). */
  file: string;
  /** When it was taken (ISO-8601 UTC): from a backup file's name, or when your backup hook ran (PostgreSQL). */
  createdAt: string;
  /** Its size in bytes; for a backup hook's, the `sizeBytes` it returned, else `0`. */
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
  /** Where the schema stands; `failed` comes with `lastError`. */
  state: MigrationRunState;
  /** Every migration in the history, archived ones first, then in the order they were applied. */
  applied: AppliedMigrationStatus[];
  /** The code's migrations the history does not have, in the order they will be applied. */
  pending: PendingMigrationStatus[];
  /** Applied migrations missing from this code (rolling deployments); they count as applied. */
  unknown: UnknownMigrationStatus[];
  /** Why this instance's last run or check failed (state `failed`); null until one fails, and again once the next run starts. */
  lastError: MigrationStatusError | null;
  /** Who holds the migration lock, if anyone. */
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

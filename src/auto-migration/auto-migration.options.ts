import type { CanActivate, Type } from '@nestjs/common';

/** Options of `AutoMigrationModule.forRoot()` and of the factory of `forRootAsync()` for a SQLite database. */
export interface AutoMigrationModuleOptions extends CommonAutoMigrationOptions {
  /**
   * SQLite file path, or `':memory:'`. A relative path is resolved against the working
   * directory; missing parent folders are created.
   */
  database: string;
  /**
   * A verified backup written before a run that has something to apply (never for `:memory:` or
   * a new empty database), or `false` (one warning at start-up).
   * @default { dir: '<database folder>/backups', keep: 5, verify: 'quick' }
   */
  backup?: false | BackupOptions;
  /**
   * PRAGMAs applied to every connection the module opens. Only these are accepted. A new
   * database file is created in WAL mode unless `journal_mode` is given here; an existing file's
   * journal mode is changed only when `journal_mode` is given.
   * @default {}
   */
  pragmas?: SqlitePragmas;
  /** PostgreSQL options go in `PostgresAutoMigrationModuleOptions`: one database per module import. */
  postgres?: never;
}

/** Options of `AutoMigrationModule.forRoot()` and of the factory of `forRootAsync()` for a PostgreSQL database. */
export interface PostgresAutoMigrationModuleOptions extends CommonAutoMigrationOptions {
  /** The server, the module's schema and the DDL timeouts. */
  postgres: PostgresOptions;
  /**
   * `false` (the default on PostgreSQL: rely on your provider's snapshots or point-in-time
   * recovery), or `{ run }`: your hook, called under the lock before a run that has something to
   * apply, before anything is written; a throw stops the run with `BACKUP_FAILED`.
   * @default false
   */
  backup?: false | BackupHookOptions;
  /** SQLite only. */
  database?: never;
  /** SQLite only. */
  pragmas?: never;
}

/** The options `forRoot()` takes: a SQLite or a PostgreSQL database. */
export type AnyAutoMigrationModuleOptions = AutoMigrationModuleOptions | PostgresAutoMigrationModuleOptions;

/** What the safety analysis does at start-up. */
export type SafetyMode = 'off' | 'warn' | 'refuse';

/** `safety` with its threshold. */
export interface SafetyOptions {
  /** `'off'`, `'warn'` (log every finding, then apply) or `'refuse'` (apply nothing while an error-level finding is not accepted). */
  mode: SafetyMode;
  /** `long-exclusive-lock` fires when the rehearsal held an ACCESS EXCLUSIVE lock longer than this (PostgreSQL). @default 1000 */
  longLockMs?: number;
}

/** Options every database takes. */
export interface CommonAutoMigrationOptions {
  /**
   * Apply the pending migrations to a temporary copy of the database first; a failure there stops
   * the run with the live database untouched. Side effects of injected services are not rehearsed.
   * SQLite only (a PostgreSQL database cannot be copied while the app uses it).
   * @default false
   */
  rehearse?: boolean;
  /**
   * The safety analysis at start-up, when something is pending, before anything is applied (under
   * the lock; it runs the pending migrations on the rehearsal as `nest-auto-migration lint` does):
   * `'off'`; `'warn'` logs every finding and applies; `'refuse'` applies nothing when an
   * error-level finding is not accepted (`UnsafeMigrationError`). An object sets
   * `long-exclusive-lock`'s threshold too.
   * @default 'off'
   */
  safety?: SafetyMode | SafetyOptions;
  /** Cross-process lock. */
  lock?: LockOptions;
  /**
   * A failed migration fails application start-up. With `false` the app starts, status is
   * `failed` and the health indicator is down. Invalid definitions always fail start-up.
   * @default true
   */
  failOnError?: boolean;
  /**
   * When an applied migration's code changed since it ran: fail start-up (`true`, whatever
   * `failOnError` says), log a warning (`'warn'`), or skip the check (`false`).
   * @default true
   */
  validateChecksums?: boolean | 'warn';
  /**
   * Apply a pending migration whose name sorts before the newest applied one. Off by default:
   * such a migration was added after later ones ran, so databases would diverge in order.
   * @default false
   */
  allowOutOfOrder?: boolean;
  /**
   * Move history rows older than `olderThan` to `migrations_archive` on the `cron` schedule
   * (through @nestjs/schedule). Archived migrations still count as applied.
   */
  archive?: ArchiveOptions;
  /**
   * `'each'`: one transaction per migration (a failure keeps the migrations before it).
   * `'all'`: the whole pending batch in one transaction (a failure leaves the database as it
   * was before the run); a `transaction: false` migration splits the batch.
   * @default 'each'
   */
  transactionMode?: 'each' | 'all';
  /**
   * When migrations run at start-up. `'blocking'`: apply them, then let the app listen.
   * `'background'`: listen at once, health down (`running`) until they are applied; a failure
   * with `failOnError: true` logs and exits the process non-zero. `'verify'`: apply nothing (a
   * separate job runs `npx nest-auto-migration up`); pending migrations fail start-up, or with
   * `failOnError: false` keep health down, re-checked every `verifyIntervalMs`, until another
   * instance has applied them.
   * @default 'blocking'
   */
  mode?: 'blocking' | 'background' | 'verify';
  /**
   * In `mode: 'verify'` with `failOnError: false`: how often to re-read the history while
   * migrations are pending.
   * @default 5000
   */
  verifyIntervalMs?: number;
  /**
   * A folder of `.sql` migrations beside the classes: `005_add_tags.sql` is migration
   * `005_add_tags`, with a required `-- version: 1.4.0` header comment, optional
   * `-- description: ...` and `-- transaction: false`; `005_add_tags.down.sql` is its `down`.
   * A relative path is resolved against the working directory.
   */
  migrationsDir?: string;
  /**
   * The `GET /migrations/status` endpoint: `false` to leave it out, or its path and guards.
   * With `forRootAsync()`, give it beside `useFactory` (routes are fixed before factories run).
   * @default { path: 'migrations/status', guards: [] } (a named instance: path 'migrations/status/<name>')
   */
  statusController?: false | StatusControllerOptions;
}

/** Backup options. */
export interface BackupOptions {
  /** The backup folder, created 0700. A relative path is resolved against the working directory. @default '<database folder>/backups' */
  dir?: string;
  /** How many of this database's backups to keep; other files in the folder are never touched. @default 5 */
  keep?: number;
  /** Check of the copy: `PRAGMA quick_check` or full `integrity_check`. @default 'quick' */
  verify?: 'quick' | 'full';
}

/** PostgreSQL: where the database is, where the module's tables live, and the DDL timeouts. */
export interface PostgresOptions {
  /**
   * `postgres://user:password@host:5432/db`: the application's pool (`@InjectMigrationDatabase()`)
   * and the module's status reads. May point at a transaction pooler (PgBouncer). Required unless
   * `pool` is given. Never shown: status, logs and errors name only host, port and database.
   */
  connectionString?: string;
  /**
   * Your application's own `pg.Pool`, instead of `connectionString`: injected as it is
   * (`@InjectMigrationDatabase()`); the module never queries through it and never ends it. Its
   * connection settings (`pool.options`) open the module's own small pool for status reads, and
   * the lock and migration sessions unless `migrationConnectionString` is given.
   */
  pool?: PgPoolLike;
  /**
   * Where the lock session and the migration session connect (a direct connection, not a
   * transaction pooler, when migrations use `transaction: false`: their session settings must
   * stay on one server connection). @default connectionString
   */
  migrationConnectionString?: string;
  /** The schema of the module's tables, of the lock's key, and first on each migration's `search_path`. @default 'public' */
  schema?: string;
  /** Timeouts set in each migration (`SET LOCAL`, so they never leak to other sessions of a pooler). */
  ddl?: DdlOptions;
}

/** The timeouts of migration statements on PostgreSQL. */
export interface DdlOptions {
  /**
   * `lock_timeout`: how long a statement waits for a table lock before the migration fails.
   * Without it, an `ALTER TABLE` queued behind one long query blocks every later query of the
   * table. `0`: wait forever. @default 5000
   */
  lockTimeoutMs?: number;
  /** `statement_timeout`: the longest a single statement may run (backfills can be long). `0`: no limit. @default 0 */
  statementTimeoutMs?: number;
}

/** What the module needs of a `pg.Pool` (`import { Pool } from 'pg'`). */
export interface PgPoolLike {
  /** Checked to exist, with `connect()`, to tell a pool from a wrong value; the module never calls it. */
  query(text: string, values?: unknown[]): Promise<unknown>;
  /** Checked to exist, with `query()`, to tell a pool from a wrong value; the module never calls it. */
  connect(): Promise<unknown>;
  /** The pool's connection settings (`pg.Pool` keeps them here). */
  readonly options?: object;
}

/** A backup taken by your hook (PostgreSQL). */
export interface BackupHookOptions {
  /**
   * Called once per run that has something to apply, under the lock, before anything is written.
   * Return an id (a snapshot name) for the status's `lastBackup.file`, or nothing.
   */
  run(context: BackupHookContext): Promise<BackupHookResult | void> | BackupHookResult | void;
}

/** What a backup hook is told. */
export interface BackupHookContext {
  /** The newest applied migration, or null for a database without any. */
  readonly newestMigration: string | null;
  /** The migrations the run will apply, in order. */
  readonly pending: readonly string[];
}

/** What a backup hook may return. */
export interface BackupHookResult {
  /** Names the backup (a snapshot id) in status and events. */
  readonly id: string;
  /** Its size, when known. */
  readonly sizeBytes?: number;
}

/** Scheduled history archive. */
export interface ArchiveOptions {
  /** Age of the rows to archive: milliseconds, or a duration such as `'365d'`, `'12h'`, `'30m'`, `'90s'`. */
  olderThan: number | string;
  /** Cron expression of the schedule, e.g. `'0 3 * * 0'` (Sundays at 03:00). */
  cron: string;
}

/** Lock options. */
export interface LockOptions {
  /** How long to wait for another process's run to finish before failing with `LockTimeoutError`. @default 60000 */
  timeoutMs?: number;
  /**
   * Heartbeat age after which status calls the lock holder suspect: inside a long statement, or a
   * transactional migration longer than this (no heartbeat is written inside a migration's
   * transaction). Never frees the lock. The heartbeat is written every third of it, between migrations.
   * @default 15000
   */
  staleAfterMs?: number;
}

/** The PRAGMAs the module accepts, applied in this order on every connection it opens. */
export interface SqlitePragmas {
  /** Milliseconds a statement waits for another connection's lock. Default of the SQLite client: 5000. */
  busy_timeout?: number;
  /**
   * Given: set on every connection, and an existing file is switched to it. Not given: a new file
   * is created in `'wal'` (readers never wait for a migration's commit) and an existing file keeps
   * its mode, with one warning at start-up when that is a rollback journal.
   */
  journal_mode?: 'delete' | 'truncate' | 'persist' | 'memory' | 'wal' | 'off';
  /** How hard SQLite syncs to disk on commit; `'normal'` is safe from corruption in WAL mode and faster. Default of the SQLite client: `'full'`. */
  synchronous?: 'off' | 'normal' | 'full' | 'extra';
  /**
   * Foreign-key enforcement on the module's connections, the one `@InjectMigrationDatabase()`
   * gives you included. Default of the SQLite client: on. Whatever it says, a migration with
   * `foreignKeys: 'check'` (the default) runs with enforcement off and its new violations refused.
   */
  foreign_keys?: boolean;
  /** Pages when positive, KiB when negative, as in SQLite. */
  cache_size?: number;
}

/** Options of the status endpoint. */
export interface StatusControllerOptions {
  /** Where the endpoint is served. @default 'migrations/status' (a named instance: 'migrations/status/<name>') */
  path?: string;
  /** Guards (classes or instances) in front of the endpoint, e.g. your auth guard. @default [] */
  guards?: (Type<CanActivate> | CanActivate)[];
}

/** @internal Options after validation, with every default filled in and paths absolute. */
export interface ResolvedAutoMigrationOptions {
  /** SQLite: the absolute file path (or `:memory:`). PostgreSQL: the target as logs may name it (host, port, database, schema; no user, no password). */
  readonly database: string;
  /** PostgreSQL's options; null for SQLite. */
  readonly postgres: ResolvedPostgresOptions | null;
  /** The backup hook (PostgreSQL); null when there is none. */
  readonly backupHook: BackupHookOptions | null;
  /** Texts no status, log line or error may show (connection strings, passwords). */
  readonly secrets: readonly string[];
  readonly inMemory: boolean;
  readonly backup: false | Required<BackupOptions>;
  readonly lock: Required<LockOptions>;
  readonly failOnError: boolean;
  readonly validateChecksums: boolean | 'warn';
  readonly transactionMode: 'each' | 'all';
  readonly allowOutOfOrder: boolean;
  readonly rehearse: boolean;
  readonly safety: Required<SafetyOptions>;
  readonly archive: ArchiveOptions | null;
  readonly pragmas: SqlitePragmas;
  readonly mode: 'blocking' | 'background' | 'verify';
  readonly verifyIntervalMs: number;
  /** Absolute path, or null when only classes are used. */
  readonly migrationsDir: string | null;
}

/** @internal PostgreSQL options after validation. */
export interface ResolvedPostgresOptions {
  readonly connectionString: string | null;
  readonly pool: PgPoolLike | null;
  readonly migrationConnectionString: string | null;
  readonly schema: string;
  readonly ddl: Required<DdlOptions>;
}

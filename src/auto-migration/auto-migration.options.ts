import type { CanActivate, Type } from '@nestjs/common';

/** Options of `AutoMigrationModule.forRoot()` and of the factory of `forRootAsync()`. */
export interface AutoMigrationModuleOptions {
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
   * Apply the pending migrations to a temporary copy of the database first; a failure there stops
   * the run with the live database untouched. Side effects of injected services are not rehearsed.
   * @default false
   */
  rehearse?: boolean;
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
   * PRAGMAs applied to every connection the module opens. Only these are accepted. A new
   * database file is created in WAL mode unless `journal_mode` is given here; an existing file's
   * journal mode is changed only when `journal_mode` is given.
   * @default {}
   */
  pragmas?: SqlitePragmas;
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
   * @default { path: 'migrations/status', guards: [] }
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
   * Heartbeat age after which status calls the lock holder suspect (it may be inside a long
   * synchronous statement). Never frees the lock. The heartbeat is written every third of it.
   * @default 15000
   */
  staleAfterMs?: number;
}

/** The PRAGMAs the module accepts, applied in this order on every connection it opens. */
export interface SqlitePragmas {
  /** Milliseconds a statement waits for another connection's lock. Default of the SQLite client: 5000. */
  busy_timeout?: number;
  journal_mode?: 'delete' | 'truncate' | 'persist' | 'memory' | 'wal' | 'off';
  synchronous?: 'off' | 'normal' | 'full' | 'extra';
  foreign_keys?: boolean;
  /** Pages when positive, KiB when negative, as in SQLite. */
  cache_size?: number;
}

/** Options of the status endpoint. */
export interface StatusControllerOptions {
  /** @default 'migrations/status' */
  path?: string;
  /** Guards (classes or instances) in front of the endpoint, e.g. your auth guard. @default [] */
  guards?: (Type<CanActivate> | CanActivate)[];
}

/** @internal Options after validation, with every default filled in and paths absolute. */
export interface ResolvedAutoMigrationOptions {
  readonly database: string;
  readonly inMemory: boolean;
  readonly backup: false | Required<BackupOptions>;
  readonly lock: Required<LockOptions>;
  readonly failOnError: boolean;
  readonly validateChecksums: boolean | 'warn';
  readonly transactionMode: 'each' | 'all';
  readonly allowOutOfOrder: boolean;
  readonly rehearse: boolean;
  readonly archive: ArchiveOptions | null;
  readonly pragmas: SqlitePragmas;
  readonly mode: 'blocking' | 'background' | 'verify';
  readonly verifyIntervalMs: number;
  /** Absolute path, or null when only classes are used. */
  readonly migrationsDir: string | null;
}

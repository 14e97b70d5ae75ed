/** @internal Metadata key under which `@Migration()` stores its options. */
export const MIGRATION_METADATA = 'nestjs-auto-migration:migration';
/** @internal Injection token of the default instance's application connection (`getMigrationDatabaseToken()`). */
export const MIGRATION_DATABASE = Symbol('AUTO_MIGRATION_DATABASE');
/**
 * @internal Each import's own application connection and service, under tokens no other import
 * shares: Nest's `app.get()` of a token several modules provide returns the last one registered,
 * so only the default import provides the public class and symbol tokens, as aliases of these.
 */
export const INSTANCE_DATABASE = Symbol('AUTO_MIGRATION_INSTANCE_DATABASE');
/** @internal See `INSTANCE_DATABASE`. */
export const INSTANCE_SERVICE = Symbol('AUTO_MIGRATION_INSTANCE_SERVICE');
/** @internal Injection token of the validated options with defaults applied. */
export const RESOLVED_OPTIONS = Symbol('AUTO_MIGRATION_RESOLVED_OPTIONS');
/** @internal Injection token of the discovered, validated, sorted migrations. */
export const DISCOVERED_MIGRATIONS = Symbol('AUTO_MIGRATION_DISCOVERED_MIGRATIONS');
/** @internal Injection token of the database driver (`DatabaseDriver`): history, lease, session, lock and capabilities. */
export const MIGRATION_DRIVER = Symbol('AUTO_MIGRATION_DRIVER');

/** Logger context of every line the default instance writes; a named instance's is `AutoMigration:<name>` (`logContextOf()`). */
export const LOG_CONTEXT = 'AutoMigration';

export const DEFAULT_STATUS_PATH = 'migrations/status';
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
export const DEFAULT_LOCK_STALE_AFTER_MS = 15_000;
export const DEFAULT_BACKUP_KEEP = 5;
export const DEFAULT_BACKUP_DIR_NAME = 'backups';
export const DEFAULT_VERIFY_INTERVAL_MS = 5_000;

/**
 * @internal Set on `globalThis` by the command-line tool before it boots the user's module, so
 * that the automatic run on bootstrap is off. A registered symbol, so that it is seen even if the
 * app resolves a second copy of this package.
 */
export const CLI_CONTEXT = Symbol.for('nestjs-auto-migration.cli');

/**
 * Every `code` an `AutoMigrationError` can carry, stable across releases: match on these in
 * alerting and in `catch` blocks rather than on messages. A status's `lastError.code` is one of
 * these, or `'UNEXPECTED_ERROR'` for a failure that is not the module's own.
 */
export const AUTO_MIGRATION_ERROR_CODES = [
  'BACKUP_DISABLED',
  'BACKUP_FAILED',
  'BASELINE_REFUSED',
  'CHECKSUM_MISMATCH',
  'DATABASE_OPERATION_FAILED',
  'DATABASE_UNAVAILABLE',
  'DUPLICATE_MIGRATION',
  'FOREIGN_HISTORY_TABLE',
  'FOREIGN_KEY_MISMATCH',
  'FOREIGN_KEY_VIOLATION',
  'INTERRUPTED_MIGRATION',
  'INVALID_ARGUMENT',
  'INVALID_MIGRATION',
  'INVALID_OPTIONS',
  'LOCK_HELD',
  'LOCK_LOST',
  'LOCK_TIMEOUT',
  'MIGRATION_FAILED',
  'MISSING_DOWN',
  'MIXED_PREFIX_WIDTH',
  'NOTHING_TO_RESOLVE',
  'OUT_OF_ORDER_MIGRATION',
  'PENDING_MIGRATIONS',
  'REHEARSAL_FAILED',
  'RESTART_REQUIRED',
  'RESTORE_FAILED',
  'RESTORE_REFUSED',
  'REVERT_FAILED',
  'SHUTTING_DOWN',
  'STARTUP_STOPPED',
  'UNKNOWN_MIGRATION',
  'UNSAFE_MIGRATION',
] as const;

/** The union of every error code (see `AUTO_MIGRATION_ERROR_CODES`). */
export type AutoMigrationErrorCode = (typeof AUTO_MIGRATION_ERROR_CODES)[number];

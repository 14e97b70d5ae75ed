import { AutoMigrationError, describeCause } from './auto-migration.error';

/**
 * A statement of the module's own failed outside any migration: creating or upgrading its tables,
 * reading the history, starting or committing a transaction.
 */
export class DatabaseOperationError extends AutoMigrationError {
  readonly code = 'DATABASE_OPERATION_FAILED';

  constructor(
    readonly action: string,
    cause: unknown,
    migration?: string,
  ) {
    const message = describeCause(cause);
    const advice = /locked|busy/i.test(message)
      ? 'Another connection holds a write transaction on the database for longer than the busy timeout: find it (a long job, an open transaction in the app), or raise pragmas.busy_timeout.'
      : /full|disk/i.test(message)
        ? 'Free disk space next to the database, then restart: nothing was committed by the failed step.'
        : 'Check that the database file is healthy (PRAGMA integrity_check) and writable, then restart.';
    super(`Could not ${action}: ${message}. ${advice}`, { migration, cause });
  }
}

import { AutoMigrationError, describeCause } from './auto-migration.error';
import { type CauseContext, causeAdvice } from './cause-advice';

/**
 * A statement of the module's own failed outside any migration: creating or upgrading its tables,
 * reading the history, starting or committing a transaction.
 */
export class DatabaseOperationFailedError extends AutoMigrationError {
  readonly code = 'DATABASE_OPERATION_FAILED';

  constructor(
    /** What the module was doing, as the message words it (`read the migration history`). */
    readonly action: string,
    cause: unknown,
    migration?: string,
    context: CauseContext = {},
  ) {
    const advice = causeAdvice(cause, context) ?? 'Check that the database is healthy (run its own integrity check) and writable, then restart.';
    super(`Could not ${action}: ${describeCause(cause)}. ${advice}`, { migration, cause });
  }
}

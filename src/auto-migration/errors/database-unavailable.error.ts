import { AutoMigrationError, describeCause } from './auto-migration.error';
import { type CauseContext, causeAdvice } from './sqlite-cause';

/** The database file (or its lock file) could not be opened or written. */
export class DatabaseUnavailableError extends AutoMigrationError {
  readonly code = 'DATABASE_UNAVAILABLE';

  /** @param context what the caller knows beyond the path (the backups, for a damaged file) */
  constructor(
    readonly path: string,
    cause: unknown,
    context: CauseContext = {},
  ) {
    super(
      `Cannot open the SQLite database "${path}": ${describeCause(cause)}. ` +
        (causeAdvice(cause, { database: path, ...context }) ??
          'Check that the path is right, that its folder exists or can be created, and that this process may read and write both.'),
      { cause },
    );
  }
}

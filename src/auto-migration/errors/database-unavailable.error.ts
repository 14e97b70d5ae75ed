import { AutoMigrationError, describeCause } from './auto-migration.error';
import { type CauseContext, causeAdvice } from './cause-advice';

/** The database (or its lock file) could not be opened or written. */
export class DatabaseUnavailableError extends AutoMigrationError {
  readonly code = 'DATABASE_UNAVAILABLE';

  /**
   * @internal Only the module raises it.
   * @param context what the caller knows beyond the path (the backups, for a damaged file)
   * @param advice what to do, when the caller knows better than the cause's kind (a client that is not installed)
   */
  constructor(
    /** The SQLite file (or its lock file), or the PostgreSQL target as logs name it (host, port, database; never a password). */
    readonly path: string,
    cause: unknown,
    context: CauseContext = {},
    advice?: string,
  ) {
    super(
      `Cannot open the database "${path}": ${describeCause(cause)}. ` +
        (advice ??
          causeAdvice(cause, { database: path, ...context }) ??
          'Check that the path is right, that its folder exists or can be created, and that this process may read and write both.'),
      { cause },
    );
  }
}

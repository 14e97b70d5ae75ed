import { AutoMigrationError, describeCause } from './auto-migration.error';

/** The database file (or its lock file) could not be opened or written. */
export class DatabaseOpenError extends AutoMigrationError {
  readonly code = 'DATABASE_UNAVAILABLE';

  constructor(readonly path: string, cause: unknown) {
    super(
      `Cannot open the SQLite database "${path}": ${describeCause(cause)}. ` +
        'Check that the path is right, that its folder exists or can be created, and that this process may read and write both.',
      { cause },
    );
  }
}

import { AutoMigrationError, describeCause } from './auto-migration.error';

/** A pending migration failed on the rehearsal copy; the live database was not touched. */
export class RehearsalFailedError extends AutoMigrationError {
  readonly code = 'REHEARSAL_FAILED';

  constructor(migration: string, cause: unknown) {
    super(
      `Migration "${migration}" failed in rehearsal on a copy of the database: ${describeCause(cause)}. ` +
        'The live database was not touched. Fix the migration and restart.',
      { migration, cause },
    );
  }
}

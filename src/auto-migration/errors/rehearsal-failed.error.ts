import { AutoMigrationError, describeCause } from './auto-migration.error';
import { quoted } from './display-name';
import { causeAdvice } from './cause-advice';

/** A pending migration failed on the rehearsal copy; the live database was not touched. */
export class RehearsalFailedError extends AutoMigrationError {
  readonly code = 'REHEARSAL_FAILED';

  constructor(migration: string, cause: unknown) {
    super(
      `Migration ${quoted(migration)} failed in rehearsal on a copy of the database: ${describeCause(cause)}. ` +
        `The live database was not touched. ${causeAdvice(cause) ?? 'Fix the migration and restart.'}`,
      { migration, cause },
    );
  }
}

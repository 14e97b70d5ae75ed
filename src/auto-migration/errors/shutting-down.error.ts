import { AutoMigrationError } from './auto-migration.error';

/** The application began shutting down during a run; the run stopped after the migration in progress. */
export class ShuttingDownError extends AutoMigrationError {
  readonly code = 'SHUTTING_DOWN';

  constructor(
    /** Migrations this run committed before it stopped; they stay applied. */
    readonly applied: number,
    /** Migrations that were pending when the run began; the rest apply at the next start. */
    readonly pending: number,
  ) {
    super(
      `The application is shutting down: stopped after ${applied} of ${pending} pending migrations, each committed with its history row. ` +
        'The rest apply at the next start.',
    );
  }
}

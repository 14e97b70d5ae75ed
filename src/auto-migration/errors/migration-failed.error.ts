import { AutoMigrationError, describeCause } from './auto-migration.error';

/** A migration threw while it was applied. Its transaction was rolled back. */
export class MigrationFailedError extends AutoMigrationError {
  readonly code = 'MIGRATION_FAILED';

  constructor(migration: string, cause: unknown, rolledBack: 'migration' | 'batch' | 'none') {
    const outcome = {
      migration: 'Its changes were rolled back and no history row was written; later migrations did not run.',
      batch: 'The whole batch was rolled back (transactionMode "all"): the database is as it was before this run.',
      none: 'It ran outside a transaction (transaction: false), so any statement it completed before failing stays applied: check the database before starting again.',
    }[rolledBack];
    super(`Migration "${migration}" failed: ${describeCause(cause)}. ${outcome} Fix the migration and restart the application.`, {
      migration,
      cause,
    });
  }
}

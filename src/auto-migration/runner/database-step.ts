import type { MigrationSession } from '../driver/migration-session';
import { AutoMigrationError } from '../errors/auto-migration.error';
import { DatabaseOperationFailedError } from '../errors/database-operation-failed.error';
import type { CauseContext } from '../errors/cause-advice';

/**
 * Runs one of the module's own database steps (not a migration), so that a raw database error
 * becomes a `DatabaseOperationFailedError` naming what was being done. `context`, asked only on a
 * failure, gives its advice the files, folders and sizes to name (see `BackupService.causeContext()`).
 */
export async function step<T>(action: string, work: () => T | Promise<T>, context?: () => CauseContext): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof AutoMigrationError ? error : new DatabaseOperationFailedError(action, error, undefined, context?.());
  }
}

/** Runs `work` in a transaction of the migration connection: committed, or rolled back on any error. */
export async function inTransaction<T>(driver: MigrationSession, work: () => T | Promise<T>): Promise<T> {
  await driver.begin();
  try {
    const result = await work();
    await driver.commit();
    return result;
  } catch (error) {
    try {
      await driver.rollback();
    } catch {
      // The error that made us roll back is the one worth reporting.
    }
    throw error;
  }
}

import { AutoMigrationError } from '../errors/auto-migration.error';
import { DatabaseOperationError } from '../errors/database-operation.error';

/**
 * Runs one of the module's own database steps (not a migration), so that a raw SQLite error
 * becomes a `DatabaseOperationError` naming what was being done.
 */
export async function step<T>(action: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof AutoMigrationError ? error : new DatabaseOperationError(action, error);
  }
}

import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { DatabaseUnavailableError } from '../errors/database-unavailable.error';
import type { DatabaseDriver } from './database-driver';

/**
 * The driver the options choose, loaded only now: a database client is an optional peer
 * dependency, and an app that does not use it need not install it (the package loads without it).
 */
export async function createDriver(options: ResolvedAutoMigrationOptions): Promise<DatabaseDriver> {
  let sqlite: typeof import('./sqlite/sqlite-database-driver');
  try {
    sqlite = await import('./sqlite/sqlite-database-driver');
  } catch (error) {
    const missing = missingModule(error);
    if (missing === null) throw error;
    throw new DatabaseUnavailableError(
      options.database,
      new Error(`its database client "${missing}" is not installed`),
      {},
      `It is an optional peer dependency of this module, installed by the app: npm install ${missing}`,
    );
  }
  return sqlite.SqliteDatabaseDriver.open(options);
}

/** The package a `require` could not find, from Node's "Cannot find module 'x'". */
function missingModule(error: unknown): string | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' || typeof message !== 'string') return null;
  return /Cannot find module '([^']+)'/.exec(message)?.[1] ?? null;
}

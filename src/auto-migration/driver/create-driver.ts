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
    const missing = clientMissing(error, SQLITE_CLIENT);
    if (missing === null) throw error;
    throw new DatabaseUnavailableError(options.database, new Error(missing.cause), {}, missing.advice);
  }
  return sqlite.SqliteDatabaseDriver.open(options);
}

/** The npm package the SQLite driver loads. */
const SQLITE_CLIENT = 'better-sqlite3';

/**
 * What a failed load of the driver for `client` means, when it is a package that cannot be found
 * (null for any other failure): the client itself not installed, or installed without one of its
 * own dependencies (a partial install), which `npm install <that dependency>` would not mend.
 */
export function clientMissing(error: unknown, client: string): { cause: string; advice: string } | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' || typeof message !== 'string') return null;
  const missing = /Cannot find module '([^']+)'/.exec(message)?.[1];
  if (missing === undefined) return null;
  if (missing === client || missing.startsWith(`${client}/`))
    return {
      cause: `its database client "${client}" is not installed`,
      advice: `It is an optional peer dependency of this module, installed by the app: npm install ${client}`,
    };
  return {
    cause: `its database client "${client}" cannot load: "${missing}", which it needs, is missing`,
    advice: `Its install is incomplete: reinstall it (npm install ${client}; if that does not help, delete node_modules and run npm install)`,
  };
}

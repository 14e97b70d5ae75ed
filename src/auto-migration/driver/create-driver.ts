import type { Logger } from '@nestjs/common';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { DatabaseUnavailableError } from '../errors/database-unavailable.error';
import type { DatabaseDriver } from './database-driver';
import { POSTGRES_CLIENT } from './postgres/client-name';
import { SQLITE_CLIENT } from './sqlite/client-name';

/**
 * The driver the options choose, loaded only now: a database client is an optional peer
 * dependency, and an app that does not use it need not install it (the package loads without it).
 * The driver logs through `logger`, its instance's (`MigrationLogger`): it is built outside Nest's injector.
 */
export async function createDriver(options: ResolvedAutoMigrationOptions, logger: Logger): Promise<DatabaseDriver> {
  if (options.postgres) {
    const postgres = await loadDriver(() => import('./postgres/pg-database-driver'), POSTGRES_CLIENT, options);
    return postgres.PgDatabaseDriver.open(options, logger);
  }
  const sqlite = await loadDriver(() => import('./sqlite/sqlite-database-driver'), SQLITE_CLIENT, options);
  return sqlite.SqliteDatabaseDriver.open(options, logger);
}

/** A driver's module, which loads its client: a client that is not installed becomes `DatabaseUnavailableError` with the install advice. */
async function loadDriver<T>(load: () => Promise<T>, client: string, options: ResolvedAutoMigrationOptions): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = clientMissing(error, client);
    if (missing === null) throw error;
    throw new DatabaseUnavailableError(options.database, new Error(missing.cause), {}, missing.advice);
  }
}

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

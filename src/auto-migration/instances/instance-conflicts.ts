import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { describeInstance } from './instance-name';
import { describeServer } from '../options/resolve-postgres-options';

interface NamedOptions {
  readonly name: string;
  /** Null while not resolved yet: only the name is compared. */
  readonly options: ResolvedAutoMigrationOptions | null;
}

/**
 * Refuses imports that would share what must belong to one instance: a name, a database (one
 * SQLite file, or one PostgreSQL schema: its history table and lock), a folder of SQL files, or
 * backup file names in one folder (retention would delete the other's backups). Throws one
 * `InvalidOptionsError` naming both imports of every clash. Pure but for resolving symlinks.
 */
export function checkInstanceConflicts(instances: readonly NamedOptions[]): void {
  const problems: string[] = [];
  const byKey = new Map<string, NamedOptions>();
  const clash = (key: string, instance: NamedOptions, describe: (first: NamedOptions) => string): void => {
    const first = byKey.get(key);
    if (first) problems.push(describe(first));
    else byKey.set(key, instance);
  };

  for (const instance of instances) {
    const { name, options } = instance;
    clash(
      `name:${name}`,
      instance,
      (first) =>
        `name: AutoMigrationModule is imported twice as ${describeInstance(name)}${first.options && options ? ` (one migrates ${first.options.database}, the other ${options.database})` : ''}; ` +
        'import each name once, and give the other database a name of its own: forRoot({ name: "analytics", ... })',
    );
    if (options === null) continue;
    if (!options.inMemory) {
      clash(
        `database:${databaseKey(options)}`,
        instance,
        (first) =>
          `database: ${describeInstance(first.name)} and ${describeInstance(name)} both migrate ${options.database}; ` +
          'two imports of one database would each keep its own lock and history in the same tables: import it once',
      );
    }
    if (options.migrationsDir !== null) {
      clash(
        `sql:${canonical(options.migrationsDir)}`,
        instance,
        (first) =>
          `migrationsDir: ${describeInstance(first.name)} and ${describeInstance(name)} both read SQL files from ${options.migrationsDir}; ` +
          'a folder of SQL files belongs to one instance: give each its own folder',
      );
    }
    if (options.backup !== false && !options.inMemory) {
      clash(
        `backup:${join(canonical(options.backup.dir), basename(options.database))}`,
        instance,
        (first) =>
          `backup.dir: ${describeInstance(first.name)} and ${describeInstance(name)} write backups named ${basename(options.database)}.* into ${options.backup === false ? '' : options.backup.dir}; ` +
          "each would delete the other's as old ones: give one of them another backup.dir",
      );
    }
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}

/**
 * SQLite: the file, symlinks resolved. PostgreSQL: the server, database and schema its history
 * and lock live in, as the migration connection names them (its own connection string when one
 * is given). Host names are compared as written: `localhost` and `127.0.0.1` are two servers here.
 */
function databaseKey(options: ResolvedAutoMigrationOptions): string {
  if (!options.postgres) return `sqlite:${canonical(options.database)}`;
  const { migrationConnectionString, schema } = options.postgres;
  return migrationConnectionString === null ? `postgres:${options.database}` : `postgres:${describeServer(migrationConnectionString)} (schema "${schema}")`;
}

/** A path with symlinks resolved as far as it exists, so that two spellings of one file match. */
function canonical(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(canonical(parent), basename(path));
}

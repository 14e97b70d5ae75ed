import { classMigrationSource as postgresClass } from '../../driver/postgres/class-migration-template';
import { classMigrationSource as sqliteClass } from '../../driver/sqlite/class-migration-template';
import { CliError } from '../cli-error';

/** Which database a new migration is written for: the module's, when `create` could read it; SQLite otherwise. */
export type Dialect = 'sqlite' | 'postgres';

/** The decorator's options in a driver's class template, on one line: `@Migration({ name: ..., description: '' })`. */
const DECORATOR_OPTIONS_END = /(@Migration\(\{[^\n]*?) \}\)/;

/**
 * A new `@Migration()` class: its driver's template (the connection `up(db)` receives differs),
 * with `database: '<name>'` in the decorator for a named instance.
 */
export function classMigrationSource(input: { name: string; className: string; version: string; database: string | null }, dialect: Dialect): string {
  const source = dialect === 'postgres' ? postgresClass(input) : sqliteClass(input);
  if (input.database === null) return source;
  if (!DECORATOR_OPTIONS_END.test(source)) {
    throw new CliError(
      'CREATE_REFUSED',
      `the ${dialect} class template has no one-line @Migration({ ... }) to add database to; nothing was written (a bug: please report it)`,
    );
  }
  return source.replace(DECORATOR_OPTIONS_END, `$1, database: '${input.database}' })`);
}

/** Statements each database refuses inside a transaction, for the SQL template's comment. */
const REFUSED_IN_TRANSACTION: Record<Dialect, string> = {
  sqlite: 'SQLite refuses inside a transaction (VACUUM, PRAGMA journal_mode)',
  postgres: 'PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM)',
};

/**
 * A `.sql` migration and its `.down.sql`. Both hold comments only: the library refuses a file
 * without SQL, so a skeleton nobody filled in can never be recorded as applied having done nothing.
 */
export function sqlMigrationSources(input: { version: string }, dialect: Dialect): { up: string; down: string } {
  return {
    up: `-- version: ${input.version}
-- description:
--
-- Runs whole, in one transaction with its history row. For statements ${REFUSED_IN_TRANSACTION[dialect]},
-- add the header line "-- transaction: false".

`,
    down: `-- Reverts the migration of the same name (nest-auto-migration down). Delete this file if it
-- cannot be reverted.

`,
  };
}

import { classMigrationSource as postgresClass } from '../../driver/postgres/class-migration-template';
import { classMigrationSource as sqliteClass } from '../../driver/sqlite/class-migration-template';

/** Which database a new migration is written for: the module's, when `create` could read it; SQLite otherwise. */
export type Dialect = 'sqlite' | 'postgres';

/** A new `@Migration()` class: its driver's template (the connection `up(db)` receives differs). */
export function classMigrationSource(input: { name: string; className: string; version: string }, dialect: Dialect): string {
  return dialect === 'postgres' ? postgresClass(input) : sqliteClass(input);
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

/** What a new `.sql` migration looks like; a class's template is its driver's (see `classMigrationSource`). */
export { classMigrationSource } from '../../driver/sqlite/class-migration-template';

/**
 * A `.sql` migration and its `.down.sql`. Both hold comments only: the library refuses a file
 * without SQL, so a skeleton nobody filled in can never be recorded as applied having done nothing.
 */
export function sqlMigrationSources(input: { version: string }): { up: string; down: string } {
  return {
    up: `-- version: ${input.version}
-- description:
--
-- Runs whole, in one transaction with its history row. For statements SQLite refuses inside
-- a transaction (VACUUM, PRAGMA journal_mode), add the header line "-- transaction: false".

`,
    down: `-- Reverts the migration of the same name (nest-auto-migration down). Delete this file if it
-- cannot be reverted.

`,
  };
}

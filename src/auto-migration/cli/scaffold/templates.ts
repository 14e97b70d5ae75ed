/** What a new migration looks like: the demo's class style, or the SQL-file headers. */

/** A `@Migration()` class with `up` and `down`, as in the README. */
export function classMigrationSource(input: { name: string; className: string; version: string }): string {
  return `import type { Database } from 'better-sqlite3';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '${input.name}', version: '${input.version}', description: '' })
export class ${input.className} implements MigrationInterface {
  up(db: Database): void {
    // db.exec('CREATE TABLE ...');
  }

  down(db: Database): void {
    // db.exec('DROP TABLE ...');
  }
}
`;
}

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

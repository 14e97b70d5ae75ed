import { AutoMigrationError } from './auto-migration.error';

/**
 * A table the module needs (`migrations`, `migration_lock`, ...) already exists with another
 * layout: another tool (TypeORM, Knex, a hand-written script) created a table of that name.
 */
export class ForeignHistoryTableError extends AutoMigrationError {
  readonly code = 'FOREIGN_HISTORY_TABLE';

  constructor(
    /** The table already in the database under a name the module needs. */
    readonly table: string,
    /** The columns the module needs that this table lacks. */
    readonly missingColumns: readonly string[],
    /** Where else the module's tables could live: another SQLite file, another PostgreSQL schema. */
    elsewhere: string,
  ) {
    super(
      `The database already has a table "${table}" that nestjs-auto-migration did not create (it lacks ${missingColumns.join(', ')}). ` +
        `Rename that table (ALTER TABLE ${table} RENAME TO ...) or ${elsewhere}; nothing was changed.`,
    );
  }
}

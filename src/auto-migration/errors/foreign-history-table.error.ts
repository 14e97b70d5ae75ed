import { AutoMigrationError } from './auto-migration.error';

/**
 * A table the module needs (`migrations`, `migration_lock`, ...) already exists with another
 * layout: another tool (TypeORM, Knex, a hand-written script) created a table of that name.
 */
export class ForeignHistoryTableError extends AutoMigrationError {
  readonly code = 'FOREIGN_HISTORY_TABLE';

  constructor(
    readonly table: string,
    readonly missingColumns: readonly string[],
  ) {
    super(
      `The database already has a table "${table}" that nestjs-auto-migration did not create (it lacks ${missingColumns.join(', ')}). ` +
        `Rename that table (ALTER TABLE ${table} RENAME TO ...) or use another database file; nothing was changed.`,
    );
  }
}

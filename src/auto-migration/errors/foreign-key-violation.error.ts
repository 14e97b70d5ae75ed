import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/**
 * Migrations (or a migration's `down()`) left rows that break a foreign key (new violations only:
 * ones the database already had do not count). Their transaction was rolled back.
 */
export class ForeignKeyViolationError extends AutoMigrationError {
  readonly code = 'FOREIGN_KEY_VIOLATION';

  constructor(
    migrations: readonly string[],
    /** Per table, the rows the migrations left violating a foreign key (new ones only). */
    readonly violations: ReadonlyMap<string, number>,
    direction: 'up' | 'down' = 'up',
  ) {
    const list = [...violations].map(([table, count]) => `${table} (${count} new row${count === 1 ? '' : 's'})`).join(', ');
    const names = migrations.map(quoted).join(', ');
    // A down() reverts one migration; a batch of transactionMode 'all' names all of its migrations.
    const subject = direction === 'down' ? `The down() of migration ${names}` : `${migrations.length === 1 ? 'Migration' : 'Migrations'} ${names}`;
    super(
      `${subject} ` +
        `left rows that violate foreign keys: ${list}. The transaction was rolled back ` +
        `${direction === 'down' ? 'and the migration stays applied. ' : 'and no history row was written. '}` +
        "Fix the data the migration copies or deletes (PRAGMA foreign_key_check lists the rows), or use foreignKeys: 'enforce' if it relies on ON DELETE CASCADE.",
      { migration: migrations[0] },
    );
  }
}

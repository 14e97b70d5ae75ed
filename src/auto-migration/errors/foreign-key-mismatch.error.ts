import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/**
 * Migrations left a foreign key that SQLite cannot check ("foreign key mismatch"): its parent
 * key is gone or not unique. Their transaction was rolled back.
 */
export class ForeignKeyMismatchError extends AutoMigrationError {
  readonly code = 'FOREIGN_KEY_MISMATCH';

  constructor(
    migrations: readonly string[],
    /** The tables whose foreign keys point at a parent key that is missing or not unique. */
    readonly tables: readonly string[],
  ) {
    super(
      `${migrations.length === 1 ? `Migration ${quoted(migrations[0])}` : `Migrations ${migrations.map(quoted).join(', ')}`} ` +
        `left foreign keys of ${tables.join(', ')} referencing a parent key that is missing or not unique (SQLite: foreign key mismatch). ` +
        'The transaction was rolled back. Keep the referenced columns a PRIMARY KEY or UNIQUE when rebuilding the parent table.',
      { migration: migrations[0] },
    );
  }
}

import { AutoMigrationError } from './auto-migration.error';
import { displayName, quoted } from './display-name';

/** Two migrations (classes, or a class and a `.sql` file) declare the same name. Raised before the database is touched. */
export class DuplicateMigrationError extends AutoMigrationError {
  readonly code = 'DUPLICATE_MIGRATION';

  constructor(
    /** Each name declared more than once, with the classes (or `.sql` files) that declare it. */
    readonly duplicates: ReadonlyMap<string, readonly string[]>,
  ) {
    const lines = [...duplicates].map(([name, classes]) => `  - ${quoted(name)} is declared by ${classes.map(displayName).join(' and ')}`);
    super(
      `Duplicate migration name${duplicates.size === 1 ? '' : 's'}:\n${lines.join('\n')}\n` +
        'Give each migration a unique name (rename the newer one); the database was not touched.',
      { migration: [...duplicates.keys()][0] },
    );
  }
}

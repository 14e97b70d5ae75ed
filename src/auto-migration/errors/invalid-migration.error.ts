import { AutoMigrationError } from './auto-migration.error';
import { shortenNames } from './display-name';

/**
 * One or more migrations are malformed: `@Migration` classes (bad name, bad version, no `up`
 * method, not a singleton provider) or `.sql` files (no version header, unknown header key, no
 * SQL). Raised before the database is touched.
 */
export class InvalidMigrationError extends AutoMigrationError {
  readonly code = 'INVALID_MIGRATION';

  constructor(
    /** One line per problem, naming the class or file: every problem at once, not only the first. */
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid migration definition${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${shortenNames(p)}`).join('\n') +
        '\nFix the migrations named above (@Migration() classes or .sql files); the database was not touched.',
    );
  }
}

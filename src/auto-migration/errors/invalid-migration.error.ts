import { AutoMigrationError } from './auto-migration.error';

/**
 * One or more `@Migration` classes are malformed (bad name, bad version, no `up` method,
 * not a singleton provider). Raised before the database is touched.
 */
export class InvalidMigrationError extends AutoMigrationError {
  readonly code = 'INVALID_MIGRATION';

  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid migration definition${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the @Migration() classes named above; the database was not touched.',
    );
  }
}

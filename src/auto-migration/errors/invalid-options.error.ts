import { AutoMigrationError } from './auto-migration.error';
import { shortenNames } from './display-name';

/** The options given to `AutoMigrationModule.forRoot()` / `forRootAsync()` are not valid. */
export class InvalidOptionsError extends AutoMigrationError {
  readonly code = 'INVALID_OPTIONS';

  constructor(
    /** One line per invalid option, naming it and what it accepts. */
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid AutoMigrationModule options (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${shortenNames(p)}`).join('\n') +
        '\nFix these fields in AutoMigrationModule.forRoot() / forRootAsync(); nothing was opened or changed.',
    );
  }
}

import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** `resolve()` was called for a migration that has no interrupted attempt to resolve. */
export class NothingToResolveError extends AutoMigrationError {
  readonly code = 'NOTHING_TO_RESOLVE';

  constructor(migration: string, interrupted: readonly string[]) {
    super(
      `There is no interrupted attempt of ${quoted(migration)} to resolve. ` +
        (interrupted.length > 0 ? `Interrupted: ${interrupted.map(quoted).join(', ')}.` : 'No migration is interrupted; nothing needs resolving.'),
      { migration },
    );
  }
}

import { AutoMigrationError } from './auto-migration.error';
import { displayName } from './display-name';

/**
 * `mode: 'verify'` found migrations that are not applied yet. This instance applies nothing, so
 * start-up fails (with `failOnError: false` it starts with health down and waits instead).
 */
export class PendingMigrationsError extends AutoMigrationError {
  readonly code = 'PENDING_MIGRATIONS';

  constructor(
    /** The migrations not applied yet, in the order they will apply. */
    readonly pending: readonly string[],
  ) {
    super(
      `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} not applied: ${pending.map(displayName).join(', ')}. ` +
        "mode: 'verify' applies nothing at start-up: apply them first with `npx nest-auto-migration up` " +
        '(or the deployment job that runs it), then start the application.',
      { migration: pending[0] },
    );
  }
}

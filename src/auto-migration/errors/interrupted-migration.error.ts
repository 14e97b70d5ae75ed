import type { AttemptRecord } from '../driver/history-store';
import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/**
 * A migration started earlier and never finished cleanly: a `transaction: false` migration that
 * threw or whose process died, or a migration that ended the runner's transaction itself (COMMIT
 * or ROLLBACK inside up(): what it did before may be committed). It may be half-applied, so it is
 * never retried blindly.
 */
export class InterruptedMigrationError extends AutoMigrationError {
  readonly code = 'INTERRUPTED_MIGRATION';

  constructor(
    /** Each interrupted attempt: what to check in the database before `resolve()`. */
    readonly attempts: readonly AttemptRecord[],
  ) {
    const lines = attempts.map(
      (a) =>
        `  - ${quoted(a.name)} started ${a.startedAt}` +
        (a.failedAt ? ` and failed ${a.failedAt}: ${a.error}` : ', and its process stopped before it finished'),
    );
    super(
      `Interrupted migration${attempts.length === 1 ? '' : 's'}, possibly half-applied (a transaction: false migration that did not finish, or one that ended the transaction it ran in):\n${lines.join('\n')}\n` +
        "Check the database (or restore a backup), then call AutoMigrationService.resolve(name, 'applied') if its changes are all in place, " +
        "or resolve(name, 'rolled-back') if none are, so that it runs again.",
      { migration: attempts[0]?.name },
    );
  }
}

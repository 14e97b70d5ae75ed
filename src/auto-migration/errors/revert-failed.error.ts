import { AutoMigrationError, describeCause } from './auto-migration.error';
import { displayName, quoted } from './display-name';
import { causeAdvice } from './sqlite-cause';

/** A migration's `down()` threw, or its revert could not be recorded. */
export class RevertFailedError extends AutoMigrationError {
  readonly code = 'REVERT_FAILED';

  constructor(migration: string, cause: unknown, transactional: boolean, reverted: readonly string[]) {
    const advice = causeAdvice(cause);
    const outcome = transactional
      ? 'Its changes were rolled back and it is still recorded as applied.'
      : 'It ran outside a transaction (transaction: false), so it may be partly reverted: check the database, or restore the backup taken before the revert.';
    super(
      `Reverting ${quoted(migration)} failed: ${describeCause(cause)}. ${outcome} ` +
        (reverted.length > 0 ? `Reverted before it: ${reverted.map(displayName).join(', ')}.` : 'Nothing was reverted before it.') +
        (advice ? ` ${advice}` : ''),
      { migration, cause },
    );
  }
}

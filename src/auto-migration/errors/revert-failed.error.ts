import { AutoMigrationError, describeCause } from './auto-migration.error';
import { displayName, quoted } from './display-name';
import { causeAdvice } from './cause-advice';

/**
 * How a failed `down()` left the database: rolled back with its transaction, partly reverted
 * because it ran outside one, or partly committed because it ended its transaction itself.
 */
export type RevertOutcome = 'rolled-back' | 'outside-transaction' | 'escaped';

const OUTCOMES: Record<RevertOutcome, string> = {
  'rolled-back': 'Its changes were rolled back and it is still recorded as applied.',
  'outside-transaction':
    'It ran outside a transaction (transaction: false), so it may be partly reverted: check the database, or restore the backup taken before the revert.',
  escaped:
    'What down() ran before it ended its transaction may be committed although the migration is still recorded as applied; ' +
    'what it ran after a new BEGIN was rolled back. Check the database, or restore the backup taken before the revert; use transaction: false for a migration that manages its own transactions.',
};

/** A migration's `down()` threw, or its revert could not be recorded. */
export class RevertFailedError extends AutoMigrationError {
  readonly code = 'REVERT_FAILED';

  constructor(migration: string, cause: unknown, outcome: RevertOutcome, reverted: readonly string[]) {
    const advice = causeAdvice(cause);
    super(
      `Reverting ${quoted(migration)} failed: ${describeCause(cause)}. ${OUTCOMES[outcome]} ` +
        (reverted.length > 0 ? `Reverted before it: ${reverted.map(displayName).join(', ')}.` : 'Nothing was reverted before it.') +
        (advice ? ` ${advice}` : ''),
      { migration, cause },
    );
  }
}

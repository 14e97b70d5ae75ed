import { AutoMigrationError, describeCause } from './auto-migration.error';
import { quoted } from './display-name';
import { type CauseContext, causeAdvice } from './cause-advice';

/**
 * What became of a failed migration's changes:
 * - `migration`: its own transaction was rolled back;
 * - `batch`: the transaction of its batch (transactionMode 'all') was rolled back;
 * - `none`: it ran outside a transaction, so what it completed stays;
 * - `escaped`: it ended the runner's transaction itself (COMMIT or ROLLBACK inside up()), so what
 *   it did before that may be committed; it is recorded as interrupted;
 * - `escaped-unrecorded`: as `escaped`, but it could not be recorded as interrupted (the file is
 *   damaged, or writing the record failed), so nothing stops the next start from running it again.
 *
 * @inline Not exported by name: the API reference shows the values where it is used.
 */
export type FailureOutcome = 'migration' | 'batch' | 'none' | 'escaped' | 'escaped-unrecorded';

const ESCAPED =
  "It ended the runner's transaction itself (COMMIT or ROLLBACK inside up()), so changes it made before that may be committed although no history row was written.";
const OWN_TRANSACTIONS = 'use transaction: false for a migration that manages its own transactions.';

const OUTCOMES: Record<FailureOutcome, string> = {
  migration: 'Its changes were rolled back and no history row was written; later migrations did not run.',
  batch:
    'Every migration of its batch (transactionMode "all") was rolled back with it and no history row was written; ' +
    'migrations committed before the batch stay applied; later migrations did not run.',
  none: 'It ran outside a transaction (transaction: false), so any statement it completed before failing stays applied: check the database before starting again.',
  escaped: `${ESCAPED} It is recorded as interrupted, so later starts refuse (INTERRUPTED_MIGRATION) until it is resolved: check the database, resolve it, and ${OWN_TRANSACTIONS}`,
  'escaped-unrecorded':
    `${ESCAPED} It could NOT be recorded as interrupted, so the next start would run it again: check the database before starting again, ` +
    `and undo by hand what it committed (or restore a backup); ${OWN_TRANSACTIONS}`,
};

/**
 * A migration threw, or broke the transaction it ran in, while it was applied. The advice follows
 * the cause: an error of the migration's own code says to fix it; a damaged, full, read-only or
 * busy database says what to do about that instead.
 */
export class MigrationFailedError extends AutoMigrationError {
  readonly code = 'MIGRATION_FAILED';

  constructor(
    migration: string,
    cause: unknown,
    /**
     * What became of the migration's changes, and so whether the database needs checking by hand:
     * `'migration'` or `'batch'` (rolled back: nothing to check), `'none'` (it ran outside a
     * transaction: what it completed stays), `'escaped'` (it ended the runner's transaction itself:
     * recorded as interrupted), `'escaped-unrecorded'` (as `'escaped'`, but not recorded: the next
     * start runs it again).
     */
    readonly outcome: FailureOutcome,
    context: CauseContext = {},
    /** What the database knows it left behind (PostgreSQL: invalid indexes of a failed CREATE INDEX CONCURRENTLY), said after the outcome. */
    leftovers: string | null = null,
  ) {
    const advice = causeAdvice(cause, context) ?? 'Fix the migration and restart the application.';
    super(`Migration ${quoted(migration)} failed: ${describeCause(cause)}. ${OUTCOMES[outcome]}${leftovers ? ` ${leftovers}` : ''} ${advice}`, {
      migration,
      cause,
    });
  }
}

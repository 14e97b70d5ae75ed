import type { MigrationSession } from '../driver/migration-session';
import { describeCause } from '../errors/auto-migration.error';

/**
 * What became of the transaction a migration's `up()` or `down()` ran in, after it threw:
 * - `intact`: still the one it began in (its mark held);
 * - `rolled-back-by-db`: the database rolled it back because of the error (a full disk, for one);
 * - `escaped`: the code ended it itself (COMMIT or ROLLBACK, perhaps BEGIN again).
 */
export type MarkOutcome = 'intact' | 'rolled-back-by-db' | 'escaped';

/** Releases the mark opened before the migration's code ran, and tells from it and from `cause` what became of its transaction. */
export async function markOutcome(driver: MigrationSession, cause: unknown): Promise<MarkOutcome> {
  try {
    if (await driver.releaseMark()) return 'intact';
  } catch {
    return 'intact'; // Rolled back with the transaction just after: the error the code threw is the one to report.
  }
  return !driver.inTransaction() && driver.rollsBackOn(cause) ? 'rolled-back-by-db' : 'escaped';
}

/**
 * Why a migration's transaction is gone, for its error and log: `ran` ended it itself, and threw
 * `thrown` after that, if it threw. Call it before rolling back what the code began after ending
 * the transaction, while that new transaction is still open to tell about.
 */
export function escapeReason(driver: MigrationSession, ran: 'up()' | 'down()', thrown?: unknown): string {
  const ended = `${ran} ended the transaction it runs in (COMMIT or ROLLBACK${driver.inTransaction() ? ', then BEGIN again' : ''})`;
  return thrown === undefined ? ended : `${describeCause(thrown)} (thrown after ${ended})`;
}

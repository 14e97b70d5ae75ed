import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long a status waits for a read while another process's commit locks the database: long
 * enough for a commit to finish, short enough that an operator gets an answer at once.
 */
export const LOCKED_OUT_PATIENCE_MS = 750;
/** How soon a locked-out read is tried again. */
const RETRY_MS = 50;

/**
 * Runs `read` (one that answers null at once while the database is locked, never waiting on
 * the database's locks) until it answers, retrying on timers for up to `patienceMs`; null if the
 * database stayed locked that long. The event loop stays free throughout.
 */
export async function readUnlessLockedOut<T>(read: () => Promise<T | null>, patienceMs = LOCKED_OUT_PATIENCE_MS): Promise<T | null> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const result = await read();
    if (result !== null) return result;
    if (Date.now() >= deadline) return null;
    await sleep(RETRY_MS);
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../errors/lock-timeout.error';
import type { LockRequest } from './migration-lock';

const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;
/**
 * A status probe may hold a lock for an instant; only a lock still taken after this long is
 * reported as a wait, so health checks never cause false "waiting" lines and events.
 */
const REPORT_WAIT_AFTER_MS = 50;

/**
 * Takes a lock by trying, never by blocking inside the database: `tryOnce` until it answers true,
 * with exponential backoff and jitter on timers (the event loop stays free), `onWait` once the
 * lock has been taken by another for a moment, `stillNeeded` between attempts. `true` once held;
 * `false` when `stillNeeded` said another process did the work; `LockTimeoutError` after `timeoutMs`.
 * `giveUp` runs whenever it ends without the lock (false, a timeout, a failure).
 */
export async function pollForLock(
  { timeoutMs, onWait = () => undefined, stillNeeded }: Pick<LockRequest, 'timeoutMs' | 'onWait' | 'stillNeeded'>,
  tryOnce: () => Promise<boolean> | boolean,
  giveUp: () => Promise<void> | void,
): Promise<boolean> {
  const started = Date.now();
  try {
    for (let delay = FIRST_RETRY_MS, waiting = false; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      if (await tryOnce()) return true;
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new LockTimeoutError(waited);
      if (!waiting && waited >= REPORT_WAIT_AFTER_MS) {
        waiting = true;
        onWait();
      }
      // Jitter keeps processes that started together from retrying in lockstep.
      await sleep(Math.min(timeoutMs - waited, delay + Math.random() * delay));
      // Replicas waiting behind the one that migrates are done when it is: they need not take
      // the lock one after another only to find nothing left to do.
      if (stillNeeded && !(await stillNeeded())) {
        await giveUp();
        return false;
      }
    }
  } catch (error) {
    await giveUp();
    throw error;
  }
}

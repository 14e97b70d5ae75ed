import type { AttemptRecord } from '../driver/history-store';
import type { LockHolder } from './lock-holder';

/**
 * Attempt rows of `transaction: false` migrations that are interrupted, as opposed to still
 * running: an attempt is its runner's migration in progress while that runner holds the lock
 * (`holder`, from `MigrationLease.currentHolder()`) and the holder is the attempt's owner or names
 * the attempt as the migration it runs. A held lock whose holder cannot be named (the database
 * locked, an earlier release's holder that wrote no holder file) gets the benefit of the doubt:
 * calling a running migration interrupted would invite an operator to `resolve` it. An attempt
 * recorded as failed is interrupted whoever holds the lock: its runner saw it end (a process left
 * up by `failOnError: false` may hold the lock again for something else).
 */
export function interruptedAttempts(attempts: readonly AttemptRecord[], holder: LockHolder | null): AttemptRecord[] {
  if (!holder) return [...attempts];
  const owner = holder.owner;
  if (!owner) return attempts.filter((attempt) => attempt.failedAt !== null);
  return attempts.filter(
    (attempt) =>
      attempt.failedAt !== null ||
      !(holder.current === attempt.name || (attempt.owner !== null && attempt.owner.instanceId === owner.instanceId && attempt.owner.pid === owner.pid)),
  );
}

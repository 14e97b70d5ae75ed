import { AutoMigrationError } from './auto-migration.error';
import { describeHolder, type LockHolder } from '../lock/lock-holder';

/** Another process held the migration lock for longer than `lock.timeoutMs`. */
export class LockTimeoutError extends AutoMigrationError {
  readonly code = 'LOCK_TIMEOUT';

  constructor(
    /** How long this process waited, in milliseconds. */
    readonly waitedMs: number,
    /** What the lease row says about the process that kept the lock; null when it could not be read. */
    readonly holder: LockHolder | null = null,
  ) {
    super(
      `Gave up waiting for the migration lock after ${waitedMs} ms: it is held by ${describeHolder(holder)}. ` +
        'Let that process finish and restart this instance, or raise lock.timeoutMs if migrations legitimately take longer.',
    );
  }
}

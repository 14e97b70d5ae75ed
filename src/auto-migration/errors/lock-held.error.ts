import { describeHolder, type LockHolder } from '../lock/lock-holder';
import { AutoMigrationError } from './auto-migration.error';

/**
 * `unlock`, `resolve` or `repair` was asked for while a live process holds the migration lock:
 * none of them runs beside a process that may be migrating right now. Nothing was changed.
 */
export class LockHeldError extends AutoMigrationError {
  readonly code = 'LOCK_HELD';

  constructor(
    /** The live process holding the lock, as far as it can be named; null when it cannot. */
    readonly holder: LockHolder | null,
  ) {
    super(
      `The migration lock is held by a live process: ${describeHolder(holder)}. Nothing was changed: unlock, resolve and repair ` +
        'never run while a live process holds the lock, since it may be applying or reverting migrations right now. ' +
        'Wait for it to finish, then try again; if it is stuck, stop that process. The operating system releases the lock when its holder exits, so it never needs breaking.',
    );
  }
}

import { describeHolder, type LockHolder } from '../lock/lock-holder';
import { AutoMigrationError } from './auto-migration.error';

/** `unlock` was asked for while a live process holds the migration lock. */
export class LockHeldError extends AutoMigrationError {
  readonly code = 'LOCK_HELD';

  constructor(readonly holder: LockHolder | null) {
    super(
      `The migration lock is held by a live process: ${describeHolder(holder)}. Nothing was changed. ` +
        'The operating system releases the lock when its holder exits, so it never needs breaking; wait for that run to finish, ' +
        'or stop that process if it is stuck.',
    );
  }
}

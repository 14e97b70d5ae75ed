import { AutoMigrationError } from './auto-migration.error';

/**
 * This process no longer holds the migration lock it took (PostgreSQL: the session holding it
 * was terminated, or its connection dropped), so its migration was rolled back instead of
 * committed: another process may be migrating now. Nothing of that migration was kept.
 */
export class LockLostError extends AutoMigrationError {
  readonly code = 'LOCK_LOST';

  constructor(
    migration: string | undefined,
    /** Why the lock is known to be lost. */
    readonly detail: string,
  ) {
    super(
      `The migration lock was lost before ${migration ? `"${migration}"` : 'the transaction'} could commit (${detail}), so it was rolled back: ` +
        'another process may hold the lock and be migrating now. Nothing of it was kept. Restart this process; it applies what is still pending once it holds the lock again.',
      { migration },
    );
  }
}

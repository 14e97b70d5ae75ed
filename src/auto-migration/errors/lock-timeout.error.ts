import { AutoMigrationError } from './auto-migration.error';

/** Another process held the migration lock for longer than `lock.timeoutMs`. */
export class LockTimeoutError extends AutoMigrationError {
  readonly code = 'LOCK_TIMEOUT';

  constructor(readonly waitedMs: number) {
    super(
      `Gave up waiting for the migration lock after ${waitedMs} ms: another process is still migrating this database. ` +
        'Let it finish and restart this instance, or raise lock.timeoutMs if migrations legitimately take longer.',
    );
  }
}

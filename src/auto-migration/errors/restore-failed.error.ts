import { AutoMigrationError, describeCause } from './auto-migration.error';
import { classifyCause, causeAdvice } from './cause-advice';

/** `restore()` could not put the backup in place; the database was not changed. */
export class RestoreFailedError extends AutoMigrationError {
  readonly code = 'RESTORE_FAILED';

  constructor(file: string, cause: unknown) {
    super(
      `Could not restore "${file}": ${describeCause(cause)}. The database was not changed. ` +
        (['busy', 'other'].includes(classifyCause(cause).kind)
          ? 'Another connection kept it busy (a replica still running, a shell open on the database, a backup tool): stop them all, then restore again.'
          : causeAdvice(cause)),
      { cause },
    );
  }
}

import { AutoMigrationError, describeCause } from './auto-migration.error';
import { type CauseContext, causeAdvice } from './cause-advice';

/** What a backup was written before: a run, or one of the operations that change data. */
export type BackupPurpose = 'run' | 'restore' | 'revert' | 'repair' | 'backup';

/** A backup could not be written or verified. Nothing was changed in the database. */
export class BackupFailedError extends AutoMigrationError {
  readonly code = 'BACKUP_FAILED';

  constructor(
    /** Where the backup was being written; `'backup.run'` when your backup hook (PostgreSQL) threw. */
    readonly path: string,
    cause: unknown,
    before: BackupPurpose = 'run',
    context: CauseContext = {},
  ) {
    const stopped =
      before === 'run'
        ? 'No migration ran and the database is unchanged.'
        : before === 'backup'
          ? 'The database is unchanged.'
          : `The ${before} did not start and the database is unchanged.`;
    const advice =
      causeAdvice(cause, context) ??
      'If the backup folder is the problem, make it creatable and writable with room for a copy of the database; ' +
        'if the database itself fails its integrity check, restore it from an earlier backup' +
        (before === 'run' ? '; or set backup: false to migrate without a backup.' : '.');
    super(`Could not write a verified backup to "${path}": ${describeCause(cause)}. ${stopped} ${advice}`, { cause });
  }
}

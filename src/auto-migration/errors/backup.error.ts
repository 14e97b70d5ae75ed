import { AutoMigrationError, describeCause } from './auto-migration.error';

/** A backup could not be written or verified. Nothing was migrated; the database is unchanged. */
export class BackupError extends AutoMigrationError {
  readonly code = 'BACKUP_FAILED';

  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(
      `Could not write a verified backup to "${path}": ${describeCause(cause)}. No migration ran and the database is unchanged. ` +
        'Fix the backup folder (it must be creatable and writable, with room for a copy of the database) and restart, or set backup: false to migrate without one.',
      { cause },
    );
  }
}

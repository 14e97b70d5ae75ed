import { AutoMigrationError } from './auto-migration.error';

/** A backup was asked for, but this database has none: `backup: false`, or `':memory:'`. */
export class BackupDisabledError extends AutoMigrationError {
  readonly code = 'BACKUP_DISABLED';

  constructor() {
    super("Backups are off for this database (backup: false, or database ':memory:'). Set the backup option of AutoMigrationModule to take one.");
  }
}

import { AutoMigrationError } from './auto-migration.error';

/** A backup was asked for, but this database has none: `backup: false`, or `':memory:'`. */
export class BackupDisabledError extends AutoMigrationError {
  readonly code = 'BACKUP_DISABLED';

  /**
   * @internal Only the module raises it.
   * @param notFiles the database is not kept in files (PostgreSQL): the module cannot copy it.
   */
  constructor(notFiles = false) {
    super(
      notFiles
        ? "This database is not kept in files the module can copy (PostgreSQL): take a backup with its own tools (pg_dump, your provider's snapshot); backup: { run } calls your hook before each run."
        : "Backups are off for this database (backup: false, or database ':memory:'). Set the backup option of AutoMigrationModule to take one.",
    );
  }
}

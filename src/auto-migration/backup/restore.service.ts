import { lstatSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { DatabaseDriver } from '../driver/database-driver';
import { describeCause } from '../errors/auto-migration.error';
import { RestartRequiredError } from '../errors/restart-required.error';
import { RestoreFailedError } from '../errors/restore-failed.error';
import { RestoreRefusedError } from '../errors/restore-refused.error';
import { MigrationLease } from '../lock/migration-lease';
import { step } from '../runner/database-step';
import { MigrationOperations } from '../runner/migration-operations';
import { newestOf } from '../runner/history';
import { MigrationState } from '../status/migration.state';
import { parseBackupFileName } from './backup-name';
import { BackupService } from './backup.service';
import { MigrationLogger } from '../logging/migration-logger';

/** Puts one of the database's backups back in place of the live content. */
@Injectable()
export class RestoreService {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly state: MigrationState,
    private readonly backup: BackupService,
    private readonly operations: MigrationOperations,
    private readonly logger: MigrationLogger,
  ) {}

  /**
   * A backup of the current state before it is replaced, so that a restore can itself be undone.
   * A database too damaged for a verified backup (the usual reason to restore) gets a raw copy
   * of its files instead.
   */
  private async keepCurrentState(restoring: string): Promise<void> {
    const history = await step('read the migration history', () => this.driver.history.readHistory()).catch(() => []);
    try {
      await this.backup.write(newestOf(history), { before: 'restore', keep: restoring });
    } catch (error) {
      const raw = this.backup.rawCopy();
      this.logger.warn(
        `Could not write a verified backup of the current state (${describeCause(error)}); kept a raw copy of its files instead: ${raw.join(', ')}`,
      );
    }
  }

  /**
   * Puts the backup's content in place of the live content through the driver, which writes like
   * any writer, so the module's own open connections see the restored content.
   */
  private async replaceContent(file: string, backupPath: string): Promise<void> {
    try {
      await this.driver.fileBackups!.restoreFrom(backupPath, this.options.lock.timeoutMs);
    } catch (error) {
      throw new RestoreFailedError(file, error);
    }
  }

  /**
   * Replaces the database content with one of its backups, after writing a backup of the current
   * state. Leaves this instance in state `failed` (restart required): its view of the schema no
   * longer matches the database.
   */
  restore(file: string, force: boolean): Promise<void> {
    return this.operations.exclusive(() => this.restoreLocked(file, force));
  }

  private async restoreLocked(file: string, force: boolean): Promise<void> {
    const folder = this.backup.folder;
    if (!this.driver.fileBackups && !this.options.inMemory)
      throw new RestoreRefusedError(
        `this database is not kept in files (${this.options.database}): restore it with its own tools (pg_restore from a dump, your provider's snapshot or point-in-time recovery), then start the application.`,
      );
    if (!folder) throw new RestoreRefusedError('backups are off for this database (backup: false or :memory:), so there is nothing to restore from.');
    // Before the listing, which leaves out anything but regular files: a link named like a backup gets its own refusal.
    if (isPlainFileName(file) && parseBackupFileName(this.options.database, file)) assertRegularFile(file, join(folder, file));
    const backupPath = isPlainFileName(file) ? this.backup.pathOf(file) : null;
    if (!backupPath) {
      const names = this.backup.list().map((b) => b.file);
      throw new RestoreRefusedError(
        `${JSON.stringify(file)} is not a backup of this database in the backup folder. Give one of these file names exactly: ${names.join(', ') || '(there are none)'}.`,
      );
    }
    const chosen = this.backup.list().find((b) => b.file === file)!;
    if (!force) {
      throw new RestoreRefusedError(
        `restoring "${file}" replaces the database with its state of ${chosen.createdAt} (newest migration then: ${chosen.newestMigration ?? 'none'}). ` +
          'Everything written since then is lost: every row, and every migration applied after it. Stop every other replica, then confirm: restore(file, { force: true }), or `nest-auto-migration restore FILE --force`.',
      );
    }
    try {
      await this.driver.fileBackups!.verify(backupPath, 'full');
    } catch (error) {
      throw new RestoreRefusedError(`${describeCause(error)}. Choose another backup.`);
    }
    await this.lease.hold(async () => {
      await this.keepCurrentState(file);
      await this.replaceContent(file, backupPath);
      this.logger.warn(`Restored the database from backup "${file}"; restart this instance and every other replica`);
    });
    this.state.runFailed(new RestartRequiredError(file));
  }
}

/** A name with no folder part: never a path, never `.` or `..`. */
function isPlainFileName(file: unknown): file is string {
  return typeof file === 'string' && file.length > 0 && !/[\\/\0]/.test(file) && file !== '.' && file !== '..';
}

/**
 * Only a backup file itself is restored: a symbolic link (or anything else) named like a backup
 * could put any file over the database. lstat, so that a link is seen as a link, not its target;
 * a name with nothing behind it is left to the listing's refusal.
 */
function assertRegularFile(file: string, path: string): void {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (!stats || stats.isFile()) return;
  const kind = stats.isSymbolicLink() ? 'a symbolic link' : stats.isDirectory() ? 'a folder' : 'not a regular file';
  throw new RestoreRefusedError(
    `"${file}" in the backup folder is ${kind}, not a backup file; restore takes only a regular file written there by a backup. Remove it, or give the name of a real backup.`,
  );
}

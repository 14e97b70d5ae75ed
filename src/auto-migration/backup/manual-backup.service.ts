import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER } from '../auto-migration.constants';
import type { DatabaseDriver } from '../driver/database-driver';
import { BackupDisabledError } from '../errors/backup-disabled.error';
import { MigrationLease } from '../lock/migration-lease';
import { step } from '../runner/database-step';
import { newestOf } from '../runner/history';
import type { BackupStatus } from '../status/migration-status.interface';
import { BackupService } from './backup.service';

/**
 * A backup on demand (the CLI's `backup`), taken under the lock so that no run changes the
 * database meanwhile. When the newest backup already holds this state it is returned, marked `reused`.
 */
@Injectable()
export class ManualBackupService {
  constructor(
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly backup: BackupService,
    private readonly lease: MigrationLease,
  ) {}

  write(): Promise<BackupStatus> {
    if (!this.backup.folder) return Promise.reject(new BackupDisabledError(this.driver.fileBackups === undefined && !this.driver.inMemory));
    return this.lease.exclusively({}, async () => {
      const history = await step('read the migration history', () => this.driver.history.readHistory());
      const { file, createdAt, sizeBytes, reused } = await this.backup.write(newestOf(history), { before: 'backup' });
      return { file, createdAt, sizeBytes, reused };
    });
  }
}

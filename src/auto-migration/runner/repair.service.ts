import { Inject, Injectable, Logger } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, MIGRATION_DRIVER } from '../auto-migration.constants';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { MigrationDriver } from '../driver/migration-driver';
import { MigrationLease } from '../lock/migration-lease';
import { step } from './database-step';
import { checksumMismatches, newestOf } from './history';
import { MigrationOperations } from './migration-operations';

/** What `repair()` changed. */
export interface RepairResult {
  /** Migrations whose stored checksum was replaced by the current one. */
  checksumsAccepted: string[];
  /** Interrupted `transaction: false` migrations whose attempt rows were cleared. */
  attemptsCleared: string[];
  /** When the repair was recorded (ISO-8601). */
  repairedAt: string;
}

/** Accepts the current checksums and clears interrupted attempts, under the lock, after a backup. */
@Injectable()
export class RepairService {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: MigrationDriver,
    private readonly lease: MigrationLease,
    private readonly backup: BackupService,
    private readonly operations: MigrationOperations,
  ) {}

  repair(): Promise<RepairResult> {
    return this.operations.exclusive(() => this.repairLocked());
  }

  private async repairLocked(): Promise<RepairResult> {
    await step('take the migration lock', () => this.lease.acquire());
    try {
      const history = await step('read the migration history', () => this.driver.readHistory());
      const attempts = await step('read interrupted migrations', () => this.driver.readAttempts());
      const mismatches = checksumMismatches(this.migrations, history);
      if (this.backup.folder) this.backup.write(newestOf(history));
      await this.lease.announce();
      await step('record the repair', async () => {
        await this.driver.begin();
        try {
          await this.driver.repair(new Map(mismatches.map((m) => [m.migration, m.current])));
          await this.driver.commit();
        } catch (error) {
          await this.driver.rollback();
          throw error;
        }
      });
      const result = { checksumsAccepted: mismatches.map((m) => m.migration), attemptsCleared: attempts.map((a) => a.name), repairedAt: new Date().toISOString() };
      this.logger.warn(
        `Repair: accepted current checksums of ${result.checksumsAccepted.join(', ') || 'no migration'}; cleared interrupted ${result.attemptsCleared.join(', ') || 'nothing'}`,
      );
      return result;
    } finally {
      await this.lease.release();
    }
  }
}

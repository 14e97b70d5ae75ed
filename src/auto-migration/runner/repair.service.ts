import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, MIGRATION_DRIVER } from '../auto-migration.constants';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import { MigrationLease } from '../lock/migration-lease';
import { inTransaction, step } from './database-step';
import { checksumMismatches, newestOf } from './history';
import { MigrationLogger } from '../logging/migration-logger';

/** What `repair()` changed. */
export interface RepairResult {
  /** Migrations whose stored checksum was replaced by the current one. */
  checksumsAccepted: string[];
  /** Interrupted `transaction: false` migrations whose attempt rows were cleared. */
  attemptsCleared: string[];
  /** When the repair was recorded (ISO-8601); when there was nothing to repair, nothing is recorded and this is when it looked. */
  repairedAt: string;
}

/**
 * Accepts the current checksums and clears interrupted attempts, under the lock, after a backup.
 * Refuses (`LockHeldError`) while a live process holds the lock.
 */
@Injectable()
export class RepairService {
  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly backup: BackupService,
    private readonly logger: MigrationLogger,
  ) {}

  repair(): Promise<RepairResult> {
    // Refused at once while a live process holds the lock: the attempts it would clear may be running.
    return this.lease.exclusively({ ifFree: true }, () => this.repairLocked());
  }

  private sourceHashOf(name: string): string | null {
    return this.migrations.find((m) => m.name === name)?.storedSourceHash ?? null;
  }

  private async repairLocked(): Promise<RepairResult> {
    const history = await step('read the migration history', () => this.driver.history.readHistory());
    const attempts = await step('read interrupted migrations', () => this.driver.history.readAttempts());
    const mismatches = checksumMismatches(this.migrations, history);
    const repairedAt = new Date().toISOString();
    const result = { checksumsAccepted: mismatches.map((m) => m.migration), attemptsCleared: attempts.map((a) => a.name), repairedAt };
    if (mismatches.length === 0 && attempts.length === 0) {
      this.logger.log('Repair: nothing to repair (checksums match, no interrupted migration)');
      return result;
    }
    if (this.backup.folder) await this.backup.write(newestOf(history), { before: 'repair' });
    await this.lease.announce();
    await step('record the repair', () =>
      inTransaction(this.driver.session, () =>
        this.driver.history.repair(
          new Map(mismatches.map((m) => [m.migration, { checksum: m.current, sourceHash: this.sourceHashOf(m.migration) }])),
          repairedAt,
        ),
      ),
    );
    this.logger.warn(
      `Repair: accepted current checksums of ${result.checksumsAccepted.join(', ') || 'no migration'}; cleared interrupted ${result.attemptsCleared.join(', ') || 'nothing'}`,
    );
    return result;
  }
}

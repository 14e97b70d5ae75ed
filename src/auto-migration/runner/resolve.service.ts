import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, MIGRATION_DRIVER } from '../auto-migration.constants';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import { MigrationLease } from '../lock/migration-lease';
import { inTransaction, step } from './database-step';
import { historyRecordFor } from './history';
import { MigrationLogger } from '../logging/migration-logger';

/**
 * Settles an interrupted `transaction: false` migration (or one that escaped its transaction)
 * after an operator checked the database: `'applied'` records it as applied, `'rolled-back'` lets
 * it run again. Refuses at once (`LockHeldError`) while a live process holds the lock: its attempt
 * may be running.
 */
@Injectable()
export class ResolveService {
  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly backup: BackupService,
    private readonly logger: MigrationLogger,
  ) {}

  /** Resolves the interrupted attempt of `name`; rejects with `onMissing(the interrupted names)` when `name` has none. */
  resolve(name: string, resolution: 'applied' | 'rolled-back', onMissing: (interrupted: string[]) => Error): Promise<void> {
    return this.lease.exclusively({ ifFree: true }, async () => {
      const attempts = await this.step('read interrupted migrations', () => this.driver.history.readAttempts());
      const attempt = attempts.find((a) => a.name === name);
      if (!attempt) throw onMissing(attempts.map((a) => a.name));
      // A migration this code no longer has is recorded with what its attempt row knew.
      const known = this.migrations.find((m) => m.name === name) ?? { name, version: attempt.version, description: '', checksum: '' };
      await this.step(`record the resolution of "${name}"`, () =>
        inTransaction(this.driver.session, async () => {
          if (resolution === 'applied') await this.driver.history.recordApplied(historyRecordFor(known, 0));
          await this.driver.history.clearAttempt(name);
        }),
      );
      this.logger.log(`Resolved interrupted migration "${name}" as ${resolution}`);
    });
  }

  /** One of the module's own database steps, its failure's advice naming the database, the backup folder and the newest backup. */
  private step<T>(action: string, work: () => T | Promise<T>): Promise<T> {
    return step(action, work, () => this.backup.causeContext());
  }
}

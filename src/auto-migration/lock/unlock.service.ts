import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER } from '../auto-migration.constants';
import type { DatabaseDriver } from '../driver/database-driver';
import { type LockHolder } from './lock-holder';
import { MigrationLease } from './migration-lease';
import { MigrationLogger } from '../logging/migration-logger';

/** What `unlock()` found and did. */
export interface UnlockResult {
  /** Whether a lease row left by a dead holder was cleared. */
  cleared: boolean;
  /** What that row said about its holder, or null when the row was already clear. */
  holder: LockHolder | null;
}

/**
 * Tidies the visible lease row after its holder died. Never needed for safety: the lock itself is
 * the operating system's and went with the process; the row only tells the status who held it.
 * Refuses (`LockHeldError`, naming the holder) while a live process holds the lock.
 */
@Injectable()
export class UnlockService {
  constructor(
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly logger: MigrationLogger,
  ) {}

  unlock(): Promise<UnlockResult> {
    // Holding the lock proves the row's holder gone; release() clears a dead holder's row.
    return this.lease.exclusively({ ifFree: true }, async () => {
      const row = await this.driver.lease.readLease();
      if (!row?.inProgress) {
        this.logger.log('Unlock: the lease row is already clear');
        return { cleared: false, holder: null };
      }
      const holder = await this.lease.rowHolder();
      this.logger.log(
        `Unlock: cleared the lease row left by ${row.owner ? `${row.owner.host}/${row.owner.pid}` : 'an unnamed process'}, which no longer holds the lock`,
      );
      return { cleared: true, holder };
    });
  }
}

import { Inject, Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MIGRATION_DRIVER } from '../auto-migration.constants';
import type { DatabaseDriver } from '../driver/database-driver';
import { MigrationEvents } from '../events/migration-events';
import { MigrationLease } from '../lock/migration-lease';
import { MigrationOperations } from './migration-operations';
import { MigrationLogger } from '../logging/migration-logger';

/**
 * Orders shutdown. Nest runs the shutdown hooks of one module's providers concurrently, so a
 * SIGTERM during a migration would otherwise close the connections under the running `up()`.
 * Here a run in progress stops after the migration (or batch) it is applying, which commits or
 * rolls back as it would have; then the lease is cleared and the lock released (both
 * idempotent), the connections close, and last the event stream completes, so the log
 * (written from events) tells the end of the run.
 */
@Injectable()
export class MigrationShutdown implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    private readonly operations: MigrationOperations,
    private readonly lease: MigrationLease,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly events: MigrationEvents,
    private readonly logger: MigrationLogger,
  ) {}

  /**
   * The first hook of a shutdown (before the HTTP server waits for its connections to close):
   * the stop is asked for, and what the shutdown will wait for is said, at once. A long migration
   * would otherwise leave a silent gap between the signal and its end.
   */
  onModuleDestroy(): void {
    this.operations.requestStop();
    if (this.operations.busy) this.logger.log(`Shutdown: ${this.waitingFor()}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.operations.requestStop();
    await this.operations.idle();
    await this.lease.release();
    await this.driver.close();
    this.events.complete();
  }

  private waitingFor(): string {
    const running = this.operations.runningMigration;
    if (!running) return 'waiting for the migration operation in progress to end; no migration is running, and none will start';
    const seconds = ((performance.now() - running.startedAt) / 1000).toFixed(1);
    const later = running.laterInBatch();
    const batch = later.length > 0 ? ` and the rest of its batch (${later.join(', ')}), which commits as one,` : '';
    return `waiting for migration "${running.name}" (running ${seconds} s)${batch} to finish; later migrations will not start`;
  }
}

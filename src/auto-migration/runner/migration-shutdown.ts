import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DatabaseConnections } from '../database/database-connections';
import { MigrationEvents } from '../events/migration-events';
import { MigrationLease } from '../lock/migration-lease';
import { MigrationOperations } from './migration-operations';

/**
 * Orders shutdown. Nest runs the shutdown hooks of one module's providers concurrently, so a
 * SIGTERM during a migration would otherwise close the connections under the running `up()`.
 * Here a run in progress stops after the migration (or batch) it is applying, which commits or
 * rolls back as it would have; then the lease is cleared and the lock released (both
 * idempotent), the connections close, and last the event stream completes, so the log
 * (written from events) tells the end of the run.
 */
@Injectable()
export class MigrationShutdown implements OnApplicationShutdown {
  constructor(
    private readonly operations: MigrationOperations,
    private readonly lease: MigrationLease,
    private readonly connections: DatabaseConnections,
    private readonly events: MigrationEvents,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.operations.requestStop();
    await this.operations.idle();
    await this.lease.release();
    this.connections.close();
    this.events.complete();
  }
}

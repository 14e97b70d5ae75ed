import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { RestoreService } from '../backup/restore.service';
import { DatabaseConnections } from '../database/database-connections';
import { MigrationLease } from '../lock/migration-lease';
import { MigrationRunner } from './migration.runner';

/**
 * Orders shutdown. Nest runs the shutdown hooks of one module's providers concurrently, so a
 * SIGTERM during a migration would otherwise close the connections under the running `up()`.
 * Here the run (or restore) finishes first (its transaction commits or rolls back as it would have), then the
 * lease is cleared and the lock released (both idempotent), then the connections close.
 */
@Injectable()
export class MigrationShutdown implements OnApplicationShutdown {
  constructor(
    private readonly runner: MigrationRunner,
    private readonly restore: RestoreService,
    private readonly lease: MigrationLease,
    private readonly connections: DatabaseConnections,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.runner.idle(), this.restore.idle()]);
    await this.lease.release();
    this.connections.close();
  }
}

import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { LOG_CONTEXT, RESOLVED_OPTIONS } from './auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from './auto-migration.options';
import { describeCause } from './errors/auto-migration.error';
import { MigrationRunner } from './runner/migration.runner';
import type { MigrationStatus } from './status/migration-status.interface';
import { MigrationState } from './status/migration.state';

/**
 * The module's public service. Runs the pending migrations on application bootstrap (the module
 * is global, so this happens before the application's own modules' bootstrap hooks), and
 * answers status and readiness.
 */
@Injectable()
export class AutoMigrationService implements OnApplicationBootstrap {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly runner: MigrationRunner,
    private readonly state: MigrationState,
  ) {}

  /** @internal Nest lifecycle hook: applies pending migrations before the app listens. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.inactive.length > 0) {
      this.logger.log(`Accepted, not yet active in this release: ${this.options.inactive.join(', ')}`);
    }
    try {
      await this.runner.run();
    } catch (error) {
      // Logged here, with our context: a throwing bootstrap hook otherwise surfaces only as a bare stack.
      this.logger.error(describeCause(error));
      if (this.options.failOnError) throw error;
      this.logger.warn('failOnError is false: the application starts with migration state "failed" and health down');
    }
  }

  /** The status document served at `GET /migrations/status`. */
  getStatus(): Promise<MigrationStatus> {
    return this.state.getStatus();
  }

  /**
   * Resolves once this instance's migrations are applied; rejects with the error if the run
   * failed. Migrations run in `onApplicationBootstrap`, after every `onModuleInit`: call this
   * from request handlers or bootstrap hooks, never await it inside `onModuleInit`.
   */
  whenReady(): Promise<void> {
    return this.state.whenReady();
  }
}

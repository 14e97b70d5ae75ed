import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { DatabaseDriver } from '../driver/database-driver';
import { describeCause } from '../errors/auto-migration.error';
import { InvalidArgumentError } from '../errors/invalid-argument.error';
import { MigrationLease } from '../lock/migration-lease';
import { inTransaction, step } from '../runner/database-step';
import { parseDuration } from './duration';
import { MigrationLogger } from '../logging/migration-logger';

/** What `archiveHistory()` moved. */
export interface ArchiveResult {
  /** Migrations moved to `migrations_archive`, in the order they were applied. */
  archived: string[];
  /** Rows applied before this time (ISO-8601) were moved. */
  cutoff: string;
}

/**
 * Moves old history rows to `migrations_archive`, as the design document suggests, without the
 * naive runner's trap: archived migrations still count as applied everywhere (status, pending,
 * out-of-order checks); only their checksums are no longer validated. Optionally on a schedule.
 */
@Injectable()
export class HistoryArchiveService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly jobName = `nestjs-auto-migration:archive:${this.lease.owner.instanceId}`;
  private readonly registry: SchedulerRegistry;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly logger: MigrationLogger,
    // As for the heartbeat: the app's registry when it imports ScheduleModule.forRoot(), else a private one.
    @Optional() registry?: SchedulerRegistry,
  ) {
    this.registry = registry ?? new SchedulerRegistry();
  }

  /** @param olderThan milliseconds, or a duration such as `'365d'` */
  async archive(olderThan: number | string): Promise<ArchiveResult> {
    const ms = parseDuration(olderThan);
    if (ms === null) throw new InvalidArgumentError('archiveHistory()', 'olderThan', 'milliseconds or a duration such as "30m", "12h" or "365d"', olderThan);
    const cutoff = new Date(Date.now() - ms).toISOString();
    return this.lease.exclusively({ announce: true }, async () => {
      const archived = await step('archive the migration history', () => inTransaction(this.driver.session, () => this.driver.history.archive(cutoff)));
      this.logger.log(`Archived ${archived.length} history row${archived.length === 1 ? '' : 's'} applied before ${cutoff}`);
      return { archived, cutoff };
    });
  }

  /** @internal Starts the `archive.cron` schedule, if any. */
  onApplicationBootstrap(): void {
    const schedule = this.options.archive;
    if (!schedule) return;
    const job = CronJob.from({
      cronTime: schedule.cron,
      onTick: () => {
        this.archive(schedule.olderThan).catch((error: unknown) => this.logger.error(`Scheduled history archive failed: ${describeCause(error)}`));
      },
      start: true,
      unrefTimeout: true,
    });
    // @nestjs/schedule pins an exact cron version and this package depends on cron ^4.4: when the two
    // resolve to different copies, their CronJob types differ though the job is the same to it.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- unnecessary only while npm dedupes cron.
    this.registry.addCronJob(this.jobName, job as never);
  }

  onModuleDestroy(): void {
    // @nestjs/schedule stops and deletes every job itself in beforeApplicationShutdown; ours may be gone.
    if (!this.registry.doesExist('cron', this.jobName)) return;
    void this.registry.getCronJob(this.jobName).stop();
    this.registry.deleteCronJob(this.jobName);
  }
}

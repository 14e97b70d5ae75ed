import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { LOG_CONTEXT, RESOLVED_OPTIONS } from './auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from './auto-migration.options';
import { ChecksumMismatchError } from './errors/checksum-mismatch.error';
import { ForeignHistoryTableError } from './errors/foreign-history-table.error';
import { InvalidArgumentError } from './errors/invalid-argument.error';
import { InvalidMigrationError } from './errors/invalid-migration.error';
import { RestoreService } from './backup/restore.service';
import { NothingToResolveError } from './errors/nothing-to-resolve.error';
import { type ArchiveResult, HistoryArchiveService } from './history/history-archive.service';
import { OutOfOrderMigrationError } from './errors/out-of-order-migration.error';
import type { MigrationEvent } from './events/migration-event';
import { MigrationEvents } from './events/migration-events';
import { MigrationRunner } from './runner/migration.runner';
import { type RepairResult, RepairService } from './runner/repair.service';
import type { MigrationStatus } from './status/migration-status.interface';
import { MigrationState } from './status/migration.state';

/**
 * Failures that stop start-up whatever `failOnError` says: code that cannot run, contradicts the
 * history, or a database that is not ours to migrate, are deployment mistakes, not runtime failures.
 */
const ALWAYS_FATAL = [InvalidMigrationError, OutOfOrderMigrationError, ForeignHistoryTableError, ChecksumMismatchError];

/**
 * The module's public service. Runs the pending migrations on application bootstrap (the module
 * is global, so this happens before the application's own modules' bootstrap hooks), and
 * answers status and readiness.
 */
@Injectable()
export class AutoMigrationService implements OnApplicationBootstrap {
  /**
   * What happens during runs: lock waited / acquired / released, migration started / applied /
   * failed, run started / finished. The module's log lines are written from the same events.
   * Completes when the application shuts down.
   */
  readonly events$: Observable<MigrationEvent>;
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly runner: MigrationRunner,
    private readonly state: MigrationState,
    private readonly restorer: RestoreService,
    private readonly repairer: RepairService,
    private readonly archiver: HistoryArchiveService,
    events: MigrationEvents,
  ) {
    this.events$ = events.events$;
  }

  /** @internal Nest lifecycle hook: applies pending migrations before the app listens. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.backup === false && !this.options.inMemory) {
      this.logger.warn('backup: false: migrations will run without a backup of the database first');
    }
    await this.runWithPolicy();
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

  /**
   * The way out of an `InterruptedMigrationError`, after you have checked the database (or
   * restored a backup): `'applied'` records the interrupted `transaction: false` migration as
   * applied (its changes are all in place); `'rolled-back'` clears the attempt so that it runs
   * again (none of its changes are in place). Takes the migration lock, then runs whatever is
   * pending, as a start would. Rejects with `NothingToResolveError` if `name` has no
   * interrupted attempt.
   */
  async resolve(name: string, resolution: 'applied' | 'rolled-back'): Promise<MigrationStatus> {
    if (resolution !== 'applied' && resolution !== 'rolled-back') {
      throw new InvalidArgumentError('resolve()', 'resolution', "'applied' or 'rolled-back'", resolution);
    }
    await this.runner.resolve(name, resolution, (interrupted) => new NothingToResolveError(name, interrupted));
    await this.runWithPolicy();
    return this.getStatus();
  }

  /**
   * Runs the pending migrations now, as a start does, and returns the new status: for an
   * instance left in state `failed` after the cause was fixed elsewhere (another replica resolved
   * an interrupted migration, a lock timeout passed). Honours `failOnError` like a start.
   */
  async migrate(): Promise<MigrationStatus> {
    await this.runWithPolicy();
    return this.getStatus();
  }

  /**
   * Accepts the current checksums of every applied migration and clears every interrupted
   * attempt, after a backup, recording when it was done (`migration_meta.last_repair_at`). For a
   * `ChecksumMismatchError` caused by formatting, or by a new TypeScript version or build tool,
   * once you have checked that no migration's meaning changed. Then runs what is pending.
   */
  async repair(): Promise<RepairResult> {
    const result = await this.repairer.repair();
    await this.runWithPolicy();
    return result;
  }

  /**
   * Moves history rows applied more than `olderThan` ago (milliseconds, or a duration such as
   * `'365d'`) from `migrations` to `migrations_archive`, under the lock. Archived migrations still
   * count as applied (status lists them with `archived: true`; they are never pending again and
   * still count in out-of-order checks); their checksums are no longer validated.
   */
  archiveHistory(options: { olderThan: number | string }): Promise<ArchiveResult> {
    return this.archiver.archive(options?.olderThan);
  }

  /**
   * Puts a backup back in place of the database. `fileName` is a backup's plain file name as
   * listed in the backup folder (see `lastBackup` in the status); paths are refused. Without
   * `{ force: true }` it refuses and says what would be lost: everything written since the backup.
   * It checks the backup, takes the migration lock, writes a backup of the current state first,
   * replaces the content, then leaves this instance in state `failed` ("restart required"), so its
   * health goes down. Stop every other replica first: they would keep serving a schema that no
   * longer matches the database.
   */
  restore(fileName: string, options: { force?: boolean } = {}): Promise<void> {
    return this.restorer.restore(fileName, options.force === true);
  }

  private async runWithPolicy(): Promise<void> {
    try {
      await this.runner.run();
    } catch (error) {
      if (this.options.failOnError || ALWAYS_FATAL.some((type) => error instanceof type)) throw error;
      this.logger.warn('failOnError is false: the application runs with migration state "failed" and health down');
    }
  }
}

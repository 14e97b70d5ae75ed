import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_INSTANCE, MigrationInstance } from './instances/migration-instance';
import type { Observable } from 'rxjs';
import { InvalidArgumentError } from './errors/invalid-argument.error';
import { RestoreService } from './backup/restore.service';
import { NothingToResolveError } from './errors/nothing-to-resolve.error';
import { type ArchiveResult, HistoryArchiveService } from './history/history-archive.service';
import type { MigrationEvent } from './events/migration-event';
import { MigrationEvents } from './events/migration-events';
import { MigrationRunner } from './runner/migration.runner';
import { type RepairResult, RepairService } from './runner/repair.service';
import { ResolveService } from './runner/resolve.service';
import type { BackupStatus, MigrationStatus } from './status/migration-status.interface';
import { ManualBackupService } from './backup/manual-backup.service';
import { type UnlockResult, UnlockService } from './lock/unlock.service';
import { type BaselineResult, BaselineService } from './runner/baseline.service';
import { type DryRunReport, DryRunService } from './runner/dry-run.service';
import { type RevertOptions, type RevertResult, RevertService } from './runner/revert.service';
import { MigrationState } from './status/migration.state';
import { MigrationStatusReader } from './status/status-reader';
import { MigrationStartup } from './start/migration-startup';
import type { SafetyReport } from './safety/finding';
import { SafetyAnalysisService } from './safety/safety-analysis.service';

/**
 * The module's public service: status and readiness, and the operations behind the command-line
 * tool. The run at application bootstrap is the module's own, not this service's. One per instance: inject the
 * default instance's as `AutoMigrationService`, a named one's with `@InjectAutoMigrationService(name)`.
 */
@Injectable()
export class AutoMigrationService {
  /**
   * What happens during runs: lock waited / acquired / released, migration started / applied /
   * failed, run started / finished. The module's log lines are written from the same events.
   * Completes when the application shuts down.
   */
  readonly events$: Observable<MigrationEvent>;
  /** The instance's name: `'default'` for the import without a name, else the `name` given to `forRoot()`. */
  readonly database: string;

  constructor(
    private readonly startup: MigrationStartup,
    private readonly runner: MigrationRunner,
    private readonly resolver: ResolveService,
    private readonly state: MigrationState,
    private readonly statusReader: MigrationStatusReader,
    private readonly restorer: RestoreService,
    private readonly repairer: RepairService,
    private readonly archiver: HistoryArchiveService,
    private readonly dryRunner: DryRunService,
    private readonly reverter: RevertService,
    private readonly baseliner: BaselineService,
    private readonly unlocker: UnlockService,
    private readonly manualBackup: ManualBackupService,
    private readonly safety: SafetyAnalysisService,
    events: MigrationEvents,
    @Inject(MIGRATION_INSTANCE) instance: MigrationInstance,
  ) {
    this.events$ = events.events$;
    this.database = instance.name;
  }

  /** The status document served at `GET /migrations/status`. */
  getStatus(): Promise<MigrationStatus> {
    return this.statusReader.getStatus();
  }

  /**
   * Resolves once this instance's migrations are applied; rejects with the error if the run
   * failed. Migrations run in `onApplicationBootstrap`, after every `onModuleInit`: call this
   * from request handlers or bootstrap hooks, never await it inside `onModuleInit` (it would wait
   * forever; a warning says so after 10 s). In `mode: 'background'` it is what code touching the
   * tables awaits first; in `mode: 'verify'` it waits until another instance or job has applied
   * them. Under the command-line tool it resolves at once: the command decides what runs.
   *
   * @example
   * ```ts
   * @Controller('users')
   * export class UsersController {
   *   constructor(
   *     @InjectMigrationDatabase() private readonly db: Database,
   *     private readonly migrations: AutoMigrationService,
   *   ) {}
   *
   *   @Get()
   *   async list() {
   *     await this.migrations.whenReady(); // the users table exists from here on
   *     return this.db.prepare('SELECT id, email FROM users').all();
   *   }
   * }
   * ```
   */
  whenReady(): Promise<void> {
    return this.state.whenReady();
  }

  /**
   * The way out of an `InterruptedMigrationError`, after you have checked the database (or
   * restored a backup): `'applied'` records the interrupted `transaction: false` migration as
   * applied (its changes are all in place); `'rolled-back'` clears the attempt so that it runs
   * again (none of its changes are in place). Takes the migration lock, then runs whatever is
   * pending, as a start would (unless `{ apply: false }`: the CLI leaves that to `up`). Rejects with `NothingToResolveError` if `name` has no
   * interrupted attempt, and at once with `LockHeldError` (naming the holder) while a live process
   * holds the lock: an attempt row of a migration that process is still running is not interrupted.
   */
  async resolve(name: string, resolution: 'applied' | 'rolled-back', options: { apply?: boolean } = {}): Promise<MigrationStatus> {
    if (resolution !== 'applied' && resolution !== 'rolled-back') {
      throw new InvalidArgumentError('resolve()', 'resolution', "'applied' or 'rolled-back'", resolution);
    }
    await this.resolver.resolve(name, resolution, (interrupted) => new NothingToResolveError(name, interrupted));
    if (options.apply !== false) await this.startup.runWithPolicy();
    return this.getStatus();
  }

  /**
   * Runs the pending migrations now (all, or those up to and including `to`), as a start does,
   * and returns the new status: for the CLI's `up`, for `mode: 'verify'` apps, and for an
   * instance left in state `failed` after the cause was fixed elsewhere (another replica resolved
   * an interrupted migration, a lock timeout passed). Honours `failOnError` like a start.
   * Rejects with `UnknownMigrationError` if `to` names no migration of the code.
   */
  async migrate(options: { to?: string } = {}): Promise<MigrationStatus> {
    await this.startup.runWithPolicy(options.to);
    return this.getStatus();
  }

  /**
   * Accepts the current checksums of every applied migration and clears every interrupted
   * attempt, after a backup, recording when it was done (`migration_meta.last_repair_at`). For a
   * `ChecksumMismatchError` caused by formatting, or by a new TypeScript version or build tool,
   * once you have checked that no migration's meaning changed. Then runs what is pending (unless
   * `{ apply: false }`). Rejects at once with `LockHeldError` while a live process holds the lock.
   */
  async repair(options: { apply?: boolean } = {}): Promise<RepairResult> {
    const result = await this.repairer.repair();
    if (options.apply !== false) await this.startup.runWithPolicy();
    return result;
  }

  /**
   * The status after the checks a start makes before applying anything (the module's tables,
   * checksums, interrupted `transaction: false` migrations, out-of-order migrations), read without
   * the lock; applies and writes nothing. A problem shows as `state: 'failed'` with `lastError`,
   * as it would after a start: for the CLI's `status`, and for a deployment gate. Never waits
   * on another process: while it holds the migration lock the state is `running` (a
   * `transaction: false` migration it is running is not interrupted), and a history its commit
   * locks out is served as last read (`historyStale`), never reported as a failure.
   */
  async check(): Promise<MigrationStatus> {
    try {
      // Null when another process's commit locks the history out: not a failure; the status
      // then says `running` (its lock is held) and serves the history as last read.
      await this.runner.preflight({ wait: false });
    } catch (error) {
      this.state.runFailed(error);
    }
    return this.getStatus();
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

  /**
   * Applies what is pending (up to and including `to`) to a temporary copy of the database and
   * reports every statement each migration issued, with its time. The live file is only read: it
   * stays byte-identical (no lock, no lease, no backup). Side effects of injected services are
   * not rehearsed: a migration that calls them calls them for real. `findings` holds what the
   * safety analysis found on the same run (see `lint()`); `analyse: false` leaves it out.
   */
  dryRun(options: { to?: string; analyse?: boolean } = {}): Promise<DryRunReport> {
    return this.dryRunner.dryRun(options);
  }

  /**
   * The safety analysis of the pending migrations (up to and including `to`): runs them on the
   * rehearsal, as `dryRun()` does, and reports what each would break (`findings`, with stable rule
   * ids), `blocking` when an error-level finding is not accepted. Makes the checks a run makes
   * first. The database is never changed by it.
   * @param options `longLockMs`: `long-exclusive-lock`'s threshold (default: the `safety` option's, 1000 ms).
   */
  async lint(options: { to?: string; longLockMs?: number } = {}): Promise<SafetyReport> {
    const pending = await this.runner.preflight({ to: options.to, wait: true });
    return this.safety.analyze(pending, options.longLockMs);
  }

  /**
   * Reverts applied migrations through their `down()`, newest first (`{ steps: 1 }` by default,
   * or `{ to: name }`: that one and every one applied after it), each in a transaction with the
   * deletion of its history row, under the lock, after a backup. Refuses (`MissingDownError`)
   * before changing anything if a migration on the way has no `down()`.
   */
  revert(options: RevertOptions = {}): Promise<RevertResult> {
    return this.reverter.revert(options);
  }

  /**
   * For a database that existed before this module was adopted: records every migration up to
   * and including `to` as applied, without running it. Refused (`BaselineRefusedError`) when the
   * database already has a migration history.
   */
  baseline(options: { to: string }): Promise<BaselineResult> {
    return this.baseliner.baseline(options);
  }

  /**
   * Clears the lease row left by a lock holder that died, for a tidy status. Never needed for
   * safety (the lock itself went with the process); refuses (`LockHeldError`) while a live
   * process holds the lock.
   */
  unlock(): Promise<UnlockResult> {
    return this.unlocker.unlock();
  }

  /** Writes a verified backup now, under the lock; rejects with `BackupDisabledError` when backups are off. */
  backup(): Promise<BackupStatus> {
    return this.manualBackup.write();
  }
}

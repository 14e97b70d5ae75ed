import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CLI_CONTEXT, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { ChecksumMismatchError } from '../errors/checksum-mismatch.error';
import { ForeignHistoryTableError } from '../errors/foreign-history-table.error';
import { InvalidMigrationError } from '../errors/invalid-migration.error';
import { OutOfOrderMigrationError } from '../errors/out-of-order-migration.error';
import { PendingMigrationsError } from '../errors/pending-migrations.error';
import { UnknownMigrationError } from '../errors/unknown-migration.error';
import { InvalidArgumentError } from '../errors/invalid-argument.error';
import { ShuttingDownError } from '../errors/shutting-down.error';
import { MigrationOperations } from '../runner/migration-operations';
import { MigrationRunner } from '../runner/migration.runner';
import { RegisteredInterval } from '../schedule/registered-interval';
import { MigrationState } from '../status/migration.state';
import { FailureExit } from './failure-exit';
import { StartupStoppedError } from '../errors/startup-stopped.error';
import { describeInstance } from '../instances/instance-name';
import { MigrationInstances } from '../instances/migration-instances';
import type { StartOutcome } from '../instances/migration-instance';
import { MigrationLogger } from '../logging/migration-logger';

/**
 * Failures that stop start-up whatever `failOnError` says: code that cannot run, contradicts the
 * history, or a database that is not ours to migrate, are deployment mistakes, not runtime failures.
 */
const ALWAYS_FATAL = [
  InvalidMigrationError,
  OutOfOrderMigrationError,
  ForeignHistoryTableError,
  ChecksumMismatchError,
  // A caller's mistake (`migrate({ to: 'typo' })`), not a runtime failure.
  UnknownMigrationError,
  InvalidArgumentError,
];

/** How soon to read the history again while another process commits. */
const BUSY_RETRY_MS = 50;

function isAlwaysFatal(error: unknown): boolean {
  return ALWAYS_FATAL.some((type) => error instanceof type);
}

/**
 * What happens at application bootstrap, by `mode`. The module is global, so this hook runs
 * before the application's own modules' bootstrap hooks.
 *
 * - `'blocking'`: applies the pending migrations; the app listens once they are applied.
 * - `'background'`: schedules the run and returns at once; status is `running` (health down)
 *   until it is done. A failure with `failOnError: true` (or an always-fatal one) ends the
 *   process with exit code 1 (see `FailureExit`); with `false` the app stays up, state `failed`.
 * - `'verify'`: applies nothing (it only reads the history, without the lock, without creating
 *   anything). Pending migrations fail start-up with `PendingMigrationsError`; with
 *   `failOnError: false` the app starts with state `pending` and re-checks every
 *   `verifyIntervalMs` until another instance or job has applied them.
 *
 * In an app with several instances (imports with a `name`), each one's run waits for the runs of
 * the imports before it, in import order; one whose start-up failed with `failOnError` (or an
 * always-fatal failure) stops the ones after it before they apply anything.
 */
@Injectable()
export class MigrationStartup implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly verifyTimer: RegisteredInterval;
  private readonly failureExit = new FailureExit();
  /** A verify re-check is in flight: the next tick skips rather than queueing behind it. */
  private checking = false;
  /** The last re-check failure logged, so that a lasting one is logged once, not every interval. */
  private lastCheckFailure: string | null = null;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly runner: MigrationRunner,
    private readonly state: MigrationState,
    private readonly operations: MigrationOperations,
    private readonly instances: MigrationInstances,
    private readonly logger: MigrationLogger,
    // The app's registry when it imports ScheduleModule.forRoot(), so the verify interval is
    // visible there; a private one otherwise. Either way this class stops it, in onModuleDestroy.
    @Optional() registry?: SchedulerRegistry,
  ) {
    this.verifyTimer = new RegisteredInterval(`nestjs-auto-migration:verify:${randomUUID().slice(0, 8)}`, registry);
  }

  /** @internal Nest lifecycle hook. */
  async onApplicationBootstrap(): Promise<void> {
    // The command-line tool boots the app's module to reach the service; it runs what it is told.
    if ((globalThis as Record<symbol, unknown>)[CLI_CONTEXT] === true) return this.startEnded('continue');
    if (this.options.mode === 'background') {
      this.logger.log(
        "mode 'background': the application starts listening now; pending migrations are applied in the background " +
          `(status "running", health down until they are${this.options.failOnError ? '; a failure exits the process with code 1' : ''})`,
      );
      this.warnIfNoBackup();
      this.startInBackground();
      return;
    }
    if (!(await this.previousContinued())) return;
    try {
      if (this.options.mode === 'verify') {
        await this.verifyAtStart();
      } else {
        this.logger.log("mode 'blocking': applying pending migrations before the application starts listening");
        this.warnIfNoBackup();
        await this.runWithPolicy();
      }
    } catch (error) {
      this.startEnded('stop');
      throw error;
    }
    this.startEnded('continue');
  }

  /** Waits for the instances imported before this one; false (and this one stopped) when one of them stopped start-up. */
  private async previousContinued(): Promise<boolean> {
    // A blocking start does not wait for a background instance before it: the app must listen at once.
    const previous = await this.instances.previousStarted({ skipBackground: this.options.mode !== 'background' });
    if (previous.outcome === 'continue') return true;
    const error = new StartupStoppedError(describeInstance(this.instances.own.name), previous.stoppedBy!);
    this.logger.warn(error.message);
    this.state.runFailed(error);
    this.startEnded('stop');
    return false;
  }

  private startEnded(outcome: StartOutcome): void {
    this.instances.own.startEnded(outcome);
  }

  /** Runs the pending migrations (up to and including `to`); `failOnError` decides whether a runtime failure rejects. */
  async runWithPolicy(to?: string): Promise<void> {
    try {
      await this.runner.run(to);
    } catch (error) {
      if (this.options.failOnError || isAlwaysFatal(error)) throw error;
      this.logger.warn('failOnError is false: the application runs with migration state "failed" and health down');
    }
  }

  /** @internal Nest lifecycle hook: stops the verify re-check. */
  onModuleDestroy(): void {
    this.stopVerifyTimer();
  }

  /** @internal Nest lifecycle hook: keeps exit code 1 when a failed background run started the shutdown. */
  onApplicationShutdown(signal?: string): void {
    this.failureExit.onShutdown(signal);
  }

  private warnIfNoBackup(): void {
    if (this.options.postgres) {
      if (!this.options.backupHook)
        this.logger.log(
          "No backup before migrating (PostgreSQL's default): rely on your provider's snapshots or point-in-time recovery, or give backup: { run } to take one",
        );
    } else if (this.options.backup === false && !this.options.inMemory) {
      this.logger.warn('backup: false: migrations will run without a backup of the database first');
    }
  }

  // ---- mode 'background' ----------------------------------------------------------------------

  private startInBackground(): void {
    // The run marks the state "running" in its first step, a few microtasks from now (after the
    // instances imported before this one, when there are any): before any request.
    // Every rejection is handled here: a background run can never be an unhandled rejection.
    this.runInBackground()
      .catch((error: unknown) => this.backgroundFailed(error))
      .catch((error: unknown) => this.logger.error(`Handling the failed background run failed: ${describeCause(error)}`))
      .finally(() => this.startEnded('continue'));
  }

  private async runInBackground(): Promise<void> {
    if (!(await this.previousContinued())) return;
    await this.runner.run();
  }

  private backgroundFailed(error: unknown): void {
    // app.close() during the run: it stopped between migrations, as shutdown asked. Not a failure.
    if (error instanceof ShuttingDownError || this.operations.stopRequested) {
      this.logger.log('The background migration run stopped because the application is shutting down');
      return;
    }
    const fatal = isAlwaysFatal(error);
    if (!this.options.failOnError && !fatal) {
      this.logger.warn('failOnError is false: the application runs with migration state "failed" and health down');
      return;
    }
    this.startEnded('stop');
    const code = error instanceof AutoMigrationError ? error.code : 'UNEXPECTED_ERROR';
    const where = error instanceof AutoMigrationError && error.migration ? ` (migration "${error.migration}")` : '';
    this.logger.error(
      `mode 'background': the migration run failed with ${code}${where}: ${describeCause(error).split('\n')[0]} ` +
        `${fatal ? 'This failure is fatal whatever failOnError says' : 'failOnError is true'}: the process exits with code 1.`,
    );
    this.failureExit.begin(this.logger);
  }

  // ---- mode 'verify' --------------------------------------------------------------------------

  private async verifyAtStart(): Promise<void> {
    const waits = this.options.failOnError
      ? 'pending migrations fail start-up'
      : `with migrations pending the application starts with health down and re-checks every ${this.options.verifyIntervalMs} ms`;
    this.logger.log(`mode 'verify': applying nothing, only checking that every migration is applied (a separate job applies them); ${waits}`);

    let pending: string[];
    try {
      pending = (await this.check()) ?? this.runner.names();
    } catch (error) {
      if (this.options.failOnError || isAlwaysFatal(error)) {
        this.state.runFailed(error);
        throw error;
      }
      this.logger.warn(
        `Could not check the migration history: ${withoutFinalStop(describeCause(error))}. Health stays down; re-checking every ${this.options.verifyIntervalMs} ms`,
      );
      this.lastCheckFailure = describeCause(error);
      this.state.awaitingOtherInstance();
      this.startVerifyTimer();
      return;
    }

    if (pending.length === 0) {
      this.state.verified();
      this.logger.log('Schema up to date: every migration is applied');
      return;
    }
    const error = new PendingMigrationsError(pending);
    if (this.options.failOnError) {
      this.state.runFailed(error);
      throw error;
    }
    this.state.awaitingOtherInstance();
    this.logger.warn(
      `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} not applied: ${pending.join(', ')}. failOnError is false: ` +
        `the application starts with state "pending" and health down, and re-checks every ${this.options.verifyIntervalMs} ms ` +
        'until `npx nest-auto-migration up` (or another instance) has applied them',
    );
    this.startVerifyTimer();
  }

  /**
   * Names of the pending migrations, after the checks a run makes (`MigrationRunner.preflight()`),
   * read without the lock. Never queued
   * beside a run of this process. While another process commits, the read is retried (without
   * blocking the event loop) for up to `lock.timeoutMs`: a migration job finishing its commit
   * must not make a verify start fail. Null if the history stayed unreadable that long.
   */
  private async check(patienceMs = this.options.lock.timeoutMs): Promise<string[] | null> {
    const deadline = Date.now() + patienceMs;
    for (;;) {
      const pending = await this.operations.exclusive(() => this.runner.preflight({ wait: false }));
      if (pending) return pending.map((m) => m.name);
      if (Date.now() >= deadline) return null;
      await sleep(BUSY_RETRY_MS);
    }
  }

  private startVerifyTimer(): void {
    this.verifyTimer.start(() => void this.recheck(), this.options.verifyIntervalMs);
  }

  private stopVerifyTimer(): void {
    this.verifyTimer.stop();
  }

  private async recheck(): Promise<void> {
    if (this.checking || this.operations.stopRequested) return;
    this.checking = true;
    try {
      // A re-check does not wait for another process's commit: the next interval asks again.
      const pending = await this.check(0);
      this.lastCheckFailure = null;
      if (pending === null || pending.length > 0) return;
      this.stopVerifyTimer();
      this.state.verified();
      this.logger.log('Schema up to date: the pending migrations have been applied by another instance or job; health is up');
    } catch (error) {
      const message = describeCause(error);
      if (isAlwaysFatal(error)) {
        this.stopVerifyTimer();
        this.state.runFailed(error);
        this.logger.error(`Re-checking the migrations failed: ${message} State "failed", health down; no more re-checks.`);
        return;
      }
      if (message !== this.lastCheckFailure)
        this.logger.warn(`Could not re-check the migration history: ${withoutFinalStop(message)}. Trying again in ${this.options.verifyIntervalMs} ms`);
      this.lastCheckFailure = message;
    } finally {
      this.checking = false;
    }
  }
}

/** A cause's message inside a sentence of ours: its own full stop would double ours. */
function withoutFinalStop(message: string): string {
  return message.replace(/\.$/, '');
}

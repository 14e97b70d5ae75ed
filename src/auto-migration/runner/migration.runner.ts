import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DISCOVERED_MIGRATIONS, MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import type { AttemptRecord, HistoryRecord } from '../driver/history-store';
import { AutoMigrationError, describeCause, stackOf } from '../errors/auto-migration.error';
import { LockLostError } from '../errors/lock-lost.error';
import { ShuttingDownError } from '../errors/shutting-down.error';
import { MigrationEvents } from '../events/migration-events';
import { BackupService } from '../backup/backup.service';
import { MigrationLease } from '../lock/migration-lease';
import { readUnlessLockedOut } from '../status/locked-out-read';
import { MigrationState } from '../status/migration.state';
import { step } from './database-step';
import { isDamage, MigrationApplier } from './migration-applier';
import { MigrationOperations } from './migration-operations';
import { MigrationPlan } from './migration-plan';
import { newestOf } from './history';
import { copies, rehearse } from './rehearsal';
import { SafetyAnalysisService } from '../safety/safety-analysis.service';
import { RehearsalFailedError } from '../errors/rehearsal-failed.error';
import { UnsafeMigrationError } from '../errors/unsafe-migration.error';
import { MigrationLogger } from '../logging/migration-logger';

/**
 * One run: lock -> (re)read history -> apply what is pending -> record -> release.
 * Each migration commits together with its history row, so it is applied and recorded, or
 * neither. Only one process runs at a time; the others wait for the lock, then find nothing
 * left to do.
 */
@Injectable()
export class MigrationRunner {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly state: MigrationState,
    private readonly events: MigrationEvents,
    private readonly backup: BackupService,
    private readonly operations: MigrationOperations,
    private readonly plan: MigrationPlan,
    private readonly applier: MigrationApplier,
    private readonly logger: MigrationLogger,
    private readonly safety: SafetyAnalysisService,
  ) {}

  /**
   * Applies every pending migration, or those up to and including `to`. Rejects with the error
   * that stopped the run.
   */
  run(to?: string): Promise<void> {
    const limit = to === undefined ? undefined : this.plan.positionOf(to);
    return this.operations.exclusive(() => this.runAndReport(limit));
  }

  /**
   * What a run would apply now (all, or up to and including `to`), after the checks a run makes
   * before applying anything: tables that are ours, checksums, interrupted attempts (an attempt
   * whose runner still holds the lock is running, not interrupted), out-of-order migrations.
   * Reads without the lock, writes nothing, throws what a run would throw: the dry run, a status,
   * and a `mode: 'verify'` start (which thus refuses what a run would refuse, instead of waiting
   * for a run that never comes). `wait: true` (the dry run) waits on another process's commit like
   * any read; `wait: false` (a status, `AutoMigrationService.check()`, verify) never waits on the database's locks and answers null while
   * another process's commit keeps it locked for longer than a moment: a read locked out is no
   * failure, and the status then serves the history as last read.
   */
  preflight(options: { to?: string; wait: true }): Promise<MigrationDefinition[]>;
  preflight(options: { to?: string; wait: false }): Promise<MigrationDefinition[] | null>;
  async preflight({ to, wait }: { to?: string; wait: boolean }): Promise<MigrationDefinition[] | null> {
    const limit = to === undefined ? undefined : this.plan.positionOf(to);
    const read = wait
      ? await this.readForPreflight()
      : await this.step('read the migration history', () => readUnlessLockedOut(async () => this.driver.probe.preflight()));
    if (!read) {
      this.state.historyLockedOut();
      return null;
    }
    this.accept(read.history);
    const interrupted = read.attempts.length > 0 ? await this.interrupted(read.attempts) : [];
    return this.plan.preflight(read.history, interrupted, limit);
  }

  /** The tables checked as ours, the history and the attempt rows, each read its own named step. */
  private async readForPreflight(): Promise<{ history: HistoryRecord[]; attempts: AttemptRecord[] }> {
    const history = this.driver.history;
    await this.step('inspect the module tables', () => history.assertTablesAreOurs());
    return {
      history: await this.step('read the migration history', () => history.readHistory()),
      attempts: await this.step('read interrupted migrations', () => history.readAttempts()),
    };
  }

  /** The attempts that are interrupted rather than running: who holds the lock decides (see `MigrationPlan.interrupted`). */
  private async interrupted(attempts: AttemptRecord[]): Promise<AttemptRecord[]> {
    if (this.lease.holding) return this.plan.interrupted(attempts, { holding: true, running: this.operations.runningMigration?.name });
    return this.plan.interrupted(attempts, { holding: false, holder: await this.lease.currentHolder() });
  }

  /** Every migration of the code, in order: what counts as pending when the history cannot be read. */
  names(): string[] {
    return this.plan.names();
  }

  private async runAndReport(limit?: number): Promise<void> {
    const started = performance.now();
    this.state.runStarted();
    this.applier.startRun();
    try {
      // Instances exist only now; a migration that cannot have one fails before the database is touched.
      for (const migration of this.migrations) migration.instance();
      await this.runLocked(limit);
      this.state.runSucceeded();
      this.finished(started);
    } catch (error) {
      this.state.runFailed(error);
      this.finished(started, error);
      throw error;
    }
  }

  private async runLocked(limit?: number): Promise<void> {
    // Lock-free fast path for the common start: tables current and nothing pending. Other
    // runners can only add history rows, so "nothing pending" read now stays true. It does not
    // wait on the database's locks: while another process commits a large migration the read is
    // "busy", and this process waits for the migration lock instead, without blocking its event loop.
    const history = await this.step('read the migration history', () => this.readWithoutWaiting());
    if (history) {
      this.accept(history);
      if (this.plan.pendingAfter(history, limit).length === 0) return;
    }

    const waitingFor = this.plan.pendingAfter(history ?? [], limit).length;
    if (!(await this.step('take the migration lock', () => this.lease.acquire(() => this.stillPending(limit, waitingFor))))) {
      this.logger.log('Stopped waiting for the migration lock: another process applied what this one needed');
      return;
    }
    let damaged = false;
    try {
      // Re-read under the lock: another process may have applied migrations while we waited.
      // Nothing is written before the backup, so that it holds the database exactly as it was.
      await this.step('inspect the module tables', () => this.driver.history.assertTablesAreOurs());
      const history = await this.step('read the migration history', () => this.driver.history.readHistory());
      this.accept(history);
      // Under the lock this process runs nothing yet: every attempt row is interrupted.
      const attempts = await this.step('read interrupted migrations', () => this.driver.history.readAttempts());
      const pending = this.plan.preflight(history, attempts, limit);
      if (pending.length === 0 && (await this.step('read the migration history', () => this.driver.history.isSchemaCurrent()))) return;
      if (pending.length > 0) {
        if (this.options.safety.mode !== 'off') await this.checkSafety(pending);
        else if (this.options.rehearse) await this.rehearse(pending);
        await this.backUp(history, pending);
      }
      // A damaged file is refused before the first write (the lease row), not found by a migration
      // after it. The backup is no such check, even though its copy is checked: the driver's copy
      // holds what the tables hold (SQLite's VACUUM INTO never reads the free pages), so a file
      // with a damaged freelist gives a sound copy. Only a run with something to write gets here, and it reads the file once.
      if (!this.driver.inMemory) await this.step('check the database before writing to it', () => this.driver.session.assertIntact());
      await this.step('prepare the module tables', () => this.lease.announce());
      if (pending.length > 0) await this.applier.apply(pending, history);
    } catch (error) {
      // Nothing may write to a damaged file, and a process that lost the lock must not clear the
      // lease row of the one that holds it now.
      damaged = isDamage(error) || error instanceof LockLostError;
      throw error;
    } finally {
      // Nothing may write to a damaged file, not even to clear the lease row: the lock is what counts.
      await this.lease.release({ leaveRow: damaged });
    }
  }

  /**
   * While this process waits for the lock: whether anything is still pending, read lock-free and
   * without waiting. A busy database (the holder committing) counts as still pending. A shutdown
   * ends the wait at once (`ShuttingDownError`, nothing applied of `waitingFor`): it must not wait
   * for another process's run, up to `lock.timeoutMs`.
   */
  private async stillPending(limit: number | undefined, waitingFor: number): Promise<boolean> {
    if (this.operations.stopRequested) throw new ShuttingDownError(0, waitingFor);
    const history = await this.readWithoutWaiting();
    if (!history || this.plan.pendingAfter(history, limit).length > 0) return true;
    this.accept(history);
    return false;
  }

  /**
   * The history, read without the lock and without waiting on the database's locks: null while
   * another process is committing, or while the module's tables are missing or older than this
   * release's (a run then takes the lock to create or upgrade them).
   */
  private async readWithoutWaiting(): Promise<HistoryRecord[] | null> {
    const read = await this.driver.probe.history();
    return read === 'not-current' ? null : read;
  }

  /** Takes `history` as the current one: status shows it, migrations this code lacks are reported, checksums validated. */
  private accept(history: HistoryRecord[]): void {
    this.state.setHistory(history);
    this.plan.accept(history);
  }

  private async rehearse(pending: readonly MigrationDefinition[]): Promise<void> {
    const started = performance.now();
    await rehearse(this.applier, copies(this.driver), pending, this.backup.folder);
    this.logger.log(`Rehearsed ${pending.length} migration${pending.length === 1 ? '' : 's'} on a copy in ${Math.round(performance.now() - started)} ms`);
  }

  /**
   * `safety: 'warn' | 'refuse'`: the analysis on the rehearsal, under the lock, before the backup
   * and any write. Its rehearsal is the `rehearse` option's too: a migration that fails there
   * stops the run (`RehearsalFailedError`). Every finding is logged; with `'refuse'`, an
   * unaccepted error-level one stops the run with `UnsafeMigrationError`.
   */
  private async checkSafety(pending: readonly MigrationDefinition[]): Promise<void> {
    const started = performance.now();
    const { kind, run, findings } = await this.step('analyse the pending migrations on a rehearsal', () => this.safety.rehearse(pending));
    for (const finding of findings) {
      const line = `Safety: ${finding.migration}: ${finding.rule} (${finding.level}${finding.accepted ? ', accepted' : ''}) on ${finding.object}: ${finding.message}`;
      if (finding.level === 'error' && !finding.accepted) this.logger.warn(`${line}. Safe pattern: ${finding.safePattern}`);
      else this.logger.log(line);
    }
    const blocking = findings.filter((f) => f.level === 'error' && !f.accepted).length;
    this.logger.log(
      `Safety analysis of ${count(pending.length, 'migration')} on ${kind === 'copy' ? 'a copy' : 'a rolled-back transaction'} in ${Math.round(performance.now() - started)} ms: ` +
        `${count(findings.length, 'finding')}, ${blocking} not accepted at error level`,
    );
    if (run.failure) throw new RehearsalFailedError(run.failure.migration, run.failure.cause);
    if (blocking > 0 && this.options.safety.mode === 'refuse') throw new UnsafeMigrationError(findings);
  }

  /** The backup before a run: skipped (and said so) when off, in memory, or for a new empty database. */
  private async backUp(history: readonly HistoryRecord[], pending: readonly MigrationDefinition[]): Promise<void> {
    if (!this.backup.enabled) return;
    if (await this.step('inspect the database', () => this.driver.history.holdsOnlyModuleTables())) {
      this.logger.log('The database is new and empty: no backup needed before this run');
      return;
    }
    await this.backup.beforeRun(
      newestOf(history),
      pending.map((m) => m.name),
    );
  }

  /** One of the module's own database steps, its failure's advice naming the database, the backup folder and the newest backup. */
  private step<T>(action: string, work: () => T | Promise<T>): Promise<T> {
    return step(action, work, () => this.backup.causeContext());
  }

  private finished(started: number, error?: unknown): void {
    this.events.emit({
      type: 'run-finished',
      outcome: error ? 'failed' : 'up-to-date',
      applied: this.applier.applied,
      total: this.state.appliedCount(),
      durationMs: Math.round(performance.now() - started),
      ...(error !== undefined && {
        error: {
          code: error instanceof AutoMigrationError ? error.code : 'UNEXPECTED_ERROR',
          message: describeCause(error),
          // The user's code is where the cause was thrown; our wrapper's stack would only point at the runner.
          stack: stackOf((error as { cause?: unknown }).cause ?? error),
        },
      }),
    });
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

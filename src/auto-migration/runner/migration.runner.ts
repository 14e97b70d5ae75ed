import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { compareNames } from '../discovery/migration-validator';
import type { DatabaseDriver } from '../driver/database-driver';
import type { AttemptRecord, HistoryRecord } from '../driver/history-store';
import { AutoMigrationError, describeCause, stackOf } from '../errors/auto-migration.error';
import { ForeignKeyViolationError } from '../errors/foreign-key-violation.error';
import { ChecksumMismatchError } from '../errors/checksum-mismatch.error';
import { InterruptedMigrationError } from '../errors/interrupted-migration.error';
import { type FailureOutcome, MigrationFailedError } from '../errors/migration-failed.error';
import { OutOfOrderMigrationError } from '../errors/out-of-order-migration.error';
import { ShuttingDownError } from '../errors/shutting-down.error';
import { classifyCause } from '../errors/sqlite-cause';
import { UnknownMigrationError } from '../errors/unknown-migration.error';
import { MigrationEvents } from '../events/migration-events';
import { BackupService } from '../backup/backup.service';
import { MigrationLease } from '../lock/migration-lease';
import { interruptedAttempts } from '../lock/live-attempts';
import { readUnlessLockedOut } from '../status/locked-out-read';
import { MigrationState } from '../status/migration.state';
import { type Batch, planBatches } from './batch-plan';
import { ForeignKeyGuard } from './foreign-key-guard';
import { inTransaction, step } from './database-step';
import { MigrationOperations } from './migration-operations';
import { checksumMismatches, historyRecordFor, newestOf } from './history';
import { copies, rehearse } from './rehearsal';
import { escapeReason, markOutcome } from './transaction-escape';

type Counter = { done: number; readonly total: number };

/**
 * One run: lock -> (re)read history -> apply what is pending -> record -> release.
 * Each migration commits together with its history row, so it is applied and recorded, or
 * neither. Only one process runs at a time; the others wait for the lock, then find nothing
 * left to do.
 */
@Injectable()
export class MigrationRunner {
  private readonly logger = new Logger(LOG_CONTEXT);
  private unknownReported = false;
  private checksumsWarned = false;
  /** Migrations committed by the current run, for its run-finished event even when it fails. */
  private appliedThisRun = 0;
  /** Foreign-key violations as the last committed migration of this run left them. */
  private foreignKeysNow?: { counts: Map<string, number>; unchecked: string[] };
  /**
   * The guard that turned enforcement off, while it stays off between batches: turning it off
   * and on around every migration cost two PRAGMA writes each, and every write makes SQLite
   * recompile the connection's prepared statements. Restored before an `'enforce'` migration
   * and when the run ends.
   */
  private heldGuard?: ForeignKeyGuard;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly state: MigrationState,
    private readonly events: MigrationEvents,
    private readonly backup: BackupService,
    private readonly operations: MigrationOperations,
  ) {}

  /**
   * Applies every pending migration, or those up to and including `to`. Rejects with the error
   * that stopped the run.
   */
  run(to?: string): Promise<void> {
    const limit = to === undefined ? undefined : this.positionOf(to);
    return this.operations.exclusive(() => this.runAndReport(limit));
  }

  /**
   * Reads the history without the lock and without waiting, validates checksums and returns what
   * is pending: for starts that must not apply anything (`mode: 'verify'`). Null while another
   * process is committing (the history is not readable this instant): ask again shortly.
   */
  async check(): Promise<MigrationDefinition[] | null> {
    const history = await this.step('read the migration history', () => this.readWithoutWaiting([]));
    if (history === null) return null;
    this.accept(history);
    return this.pendingAfter(history);
  }

  /**
   * What a run would apply now (all, or up to and including `to`), after the checks a run makes
   * before applying anything: tables that are ours, checksums, interrupted attempts, out-of-order
   * migrations. Reads without the lock (waiting on another process's commit like any read) and
   * writes nothing; throws what a run would throw. For `check()` and the dry run.
   */
  async preflight(to?: string): Promise<MigrationDefinition[]> {
    const limit = to === undefined ? undefined : this.positionOf(to);
    await this.step('inspect the module tables', () => this.driver.history.assertTablesAreOurs());
    const history = await this.step('read the migration history', () => this.driver.history.readHistory());
    const attempts = await this.step('read interrupted migrations', () => this.driver.history.readAttempts());
    return this.preflightOf(history, attempts, limit);
  }

  /**
   * `preflight()` for a status (`AutoMigrationService.check()`): never waits on SQLite's locks.
   * Null while another process's commit keeps the database locked for longer than a moment: a
   * read locked out is no failure, and the status then serves the history as last read.
   */
  async preflightWithoutWaiting(): Promise<MigrationDefinition[] | null> {
    const read = await this.step('read the migration history', () =>
      readUnlessLockedOut(() =>
        this.driver.session.withoutWaiting(async () => {
          await this.driver.history.assertTablesAreOurs();
          return { history: await this.driver.history.readHistory(), attempts: await this.driver.history.readAttempts() };
        }),
      ),
    );
    if (read) return this.preflightOf(read.history, read.attempts);
    this.state.historyLockedOut();
    return null;
  }

  /** The checks of `preflight()` on what it read. An attempt whose runner still holds the lock is running, not interrupted. */
  private async preflightOf(history: HistoryRecord[], attempts: AttemptRecord[], limit?: number): Promise<MigrationDefinition[]> {
    this.state.setHistory(history);
    this.validateChecksums(history);
    const interrupted = attempts.length > 0 ? await this.interrupted(attempts) : [];
    if (interrupted.length > 0) throw new InterruptedMigrationError(interrupted);
    const pending = this.pendingAfter(history, limit);
    this.rejectOutOfOrder(pending, history);
    return pending;
  }

  /**
   * The attempts that are interrupted rather than running. While this process holds the lock, it
   * knows what it runs: every other attempt row, its own earlier ones included (a migration that
   * failed or escaped its transaction with `failOnError: false`), is interrupted.
   */
  private async interrupted(attempts: AttemptRecord[]): Promise<AttemptRecord[]> {
    if (this.lease.holding) return attempts.filter((attempt) => attempt.name !== this.operations.runningMigration?.name);
    return interruptedAttempts(attempts, await this.lease.currentHolder());
  }

  /** Every migration of the code, in order: what counts as pending when the history cannot be read. */
  names(): string[] {
    return this.migrations.map((m) => m.name);
  }

  /** Index of `name` in the sorted migrations, for `run(to)`. */
  private positionOf(name: string): number {
    const index = this.migrations.findIndex((m) => m.name === name);
    if (index < 0) throw new UnknownMigrationError(name, 'in the code');
    return index;
  }

  /**
   * Settles an interrupted `transaction: false` migration after an operator checked the database:
   * `'applied'` records it as applied, `'rolled-back'` lets it run again. Takes the lock, and
   * refuses at once (`LockHeldError`) while a live process holds it: its attempt may be running.
   */
  resolve(name: string, resolution: 'applied' | 'rolled-back', onMissing: (interrupted: string[]) => Error): Promise<void> {
    return this.operations.exclusive(() => this.resolveLocked(name, resolution, onMissing));
  }

  private async runAndReport(limit?: number): Promise<void> {
    const started = performance.now();
    this.state.runStarted();
    this.appliedThisRun = 0;
    this.foreignKeysNow = undefined;
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
    // wait on SQLite's locks: while another process commits a large migration the read is
    // "busy", and this process waits for the migration lock instead, without blocking its event loop.
    const history = await this.step('read the migration history', () => this.readWithoutWaiting(null));
    if (history) {
      this.accept(history);
      if (this.pendingAfter(history, limit).length === 0) return;
    }

    const waitingFor = this.pendingAfter(history ?? [], limit).length;
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
      const attempts = await this.step('read interrupted migrations', () => this.driver.history.readAttempts());
      if (attempts.length > 0) throw new InterruptedMigrationError(attempts);
      const pending = this.pendingAfter(history, limit);
      if (pending.length === 0 && (await this.step('read the migration history', () => this.driver.history.isSchemaCurrent()))) return;
      if (pending.length > 0) {
        this.rejectOutOfOrder(pending, history);
        if (this.options.rehearse) await this.rehearse(pending);
        await this.backUp(history);
      }
      // A damaged file is refused before the first write (the lease row), not found by a migration
      // after it. The backup is no such check, even though its copy is checked: VACUUM INTO copies
      // what the tables hold and never reads the free pages, so a file with a damaged freelist
      // gives a sound copy. Only a run with something to write gets here, and it reads the file once.
      if (!this.driver.inMemory) await this.step('check the database before writing to it', () => this.driver.session.assertIntact());
      await this.step('prepare the module tables', () => this.lease.announce());
      if (pending.length > 0) await this.apply(pending, history);
    } catch (error) {
      damaged = isDamage(error);
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
    const history = await this.readWithoutWaiting(null);
    if (!history || this.pendingAfter(history, limit).length > 0) return true;
    this.accept(history);
    return false;
  }

  /**
   * The history, read without the lock and without waiting on SQLite's locks: null while another
   * process is committing; `beforeTables` while the module's tables are missing or older than
   * this release's.
   */
  private async readWithoutWaiting<T>(beforeTables: T): Promise<HistoryRecord[] | T | null> {
    return this.driver.session.withoutWaiting(async () => ((await this.driver.history.isSchemaCurrent()) ? this.driver.history.readHistory() : beforeTables));
  }

  /** Takes `history` as the current one: status shows it, migrations this code lacks are reported, checksums validated. */
  private accept(history: HistoryRecord[]): void {
    this.state.setHistory(history);
    this.reportUnknown(history);
    this.validateChecksums(history);
  }

  private async rehearse(pending: readonly MigrationDefinition[]): Promise<void> {
    const started = performance.now();
    await rehearse(copies(this.driver), pending, this.backup.folder);
    this.logger.log(`Rehearsed ${pending.length} migration${pending.length === 1 ? '' : 's'} on a copy in ${Math.round(performance.now() - started)} ms`);
  }

  /** The backup before a run: skipped (and said so) when off, in memory, or for a new empty database. */
  private async backUp(history: readonly HistoryRecord[]): Promise<void> {
    if (!this.backup.folder) return;
    if (await this.step('inspect the database', () => this.driver.history.holdsOnlyModuleTables())) {
      this.logger.log('The database is new and empty: no backup needed before this run');
      return;
    }
    await this.backup.write(newestOf(history));
  }

  private async resolveLocked(name: string, resolution: 'applied' | 'rolled-back', onMissing: (interrupted: string[]) => Error): Promise<void> {
    await this.lease.holdIfFree(async () => {
      const attempts = await this.step('read interrupted migrations', () => this.driver.history.readAttempts());
      const attempt = attempts.find((a) => a.name === name);
      if (!attempt) throw onMissing(attempts.map((a) => a.name));
      // A migration this code no longer has is recorded with what its attempt row knew.
      const known = this.migrations.find((m) => m.name === name) ?? { name, version: attempt.version, description: '', checksum: '' };
      await this.step(`record the resolution of "${name}"`, () =>
        inTransaction(this.driver.session, async () => {
          if (resolution === 'applied') await this.driver.history.recordApplied(historyRecordFor(known, 0));
          await this.driver.history.clearAttempt(name);
        }),
      );
      this.logger.log(`Resolved interrupted migration "${name}" as ${resolution}`);
    });
  }

  private async apply(pending: readonly MigrationDefinition[], history: HistoryRecord[]): Promise<void> {
    this.events.emit({ type: 'run-started', pending: pending.length, transactionMode: this.options.transactionMode });
    const counter: Counter = { done: 0, total: pending.length };
    try {
      for (const batch of planBatches(pending, this.options.transactionMode)) {
        if (this.operations.stopRequested) throw new ShuttingDownError(this.appliedThisRun, pending.length);
        if (batch.migrations[0].foreignKeys === 'enforce') await this.releaseForeignKeys();
        const records = batch.transactional ? await this.applyInTransaction(batch, counter) : [await this.applyOutside(batch.migrations[0], counter)];
        // The state holds this very array: status sees each batch once it is committed.
        history.push(...records);
        for (const record of records) {
          this.appliedThisRun++;
          this.events.emit({
            type: 'migration-applied',
            name: record.name,
            index: this.appliedThisRun,
            total: pending.length,
            executionTimeMs: record.executionTimeMs,
          });
        }
        await this.lease.beat();
      }
    } finally {
      await this.releaseForeignKeys();
    }
  }

  /**
   * After a batch: keeps enforcement off for the next one, or (with a `:memory:` database, whose
   * one connection the app shares) puts it back at once. Only a guard that found enforcement on
   * has anything to restore; the ones that follow it found it off.
   */
  private async holdForeignKeys(guard: ForeignKeyGuard): Promise<void> {
    if (this.driver.inMemory) return guard.restore();
    if (guard.restores) this.heldGuard = guard;
  }

  private async releaseForeignKeys(): Promise<void> {
    const guard = this.heldGuard;
    this.heldGuard = undefined;
    await guard?.restore();
  }

  private async applyInTransaction(batch: Batch, counter: Counter): Promise<HistoryRecord[]> {
    const records: HistoryRecord[] = [];
    const outcome: FailureOutcome = batch.migrations.length > 1 ? 'batch' : 'migration';
    const names = batch.migrations.map((m) => m.name);
    const guard = await ForeignKeyGuard.around(this.driver.foreignKeys, batch.migrations[0], this.logger, this.foreignKeysNow);
    this.foreignKeysNow = undefined;
    try {
      await this.step('begin a migration transaction', () => this.driver.session.begin());
      for (const [index, migration] of batch.migrations.entries()) {
        // The mark tells whether up() ended this transaction itself: a COMMIT, or a ROLLBACK and BEGIN, leaves driver.inTransaction() as it was.
        await this.step('open a savepoint for the migration', () => this.driver.session.openMark());
        let record: HistoryRecord;
        try {
          record = await this.applyOne(migration, counter, names.slice(index + 1));
        } catch (cause) {
          throw await this.upThrew(migration, cause, outcome, names.slice(0, index));
        }
        if (!(await this.step('release the savepoint of the migration', () => this.driver.session.releaseMark()))) {
          throw await this.escaped(migration, undefined, names.slice(0, index));
        }
        try {
          await this.driver.history.recordApplied(record);
        } catch (cause) {
          throw this.failed(migration, cause, outcome);
        }
        records.push(record);
      }
      const added = await guard.added(names);
      if (added.size > 0) {
        const error = new ForeignKeyViolationError(names, added);
        this.events.emit({ type: 'migration-failed', name: names[0], code: error.code, message: error.message });
        throw error;
      }
      try {
        await this.driver.session.commit();
        this.foreignKeysNow = guard.after;
      } catch (cause) {
        // Deferred constraints are checked at COMMIT: the failure belongs to the batch, not its last member.
        throw this.failed(batch.migrations[batch.migrations.length - 1], new Error(`committing ${names.join(', ')} failed: ${describeCause(cause)}`), outcome);
      }
    } catch (error) {
      // Whatever failed (a migration, the check, the commit), nothing of the batch may stay open.
      await this.rollbackQuietly();
      throw error;
    } finally {
      await this.holdForeignKeys(guard);
    }
    return records;
  }

  /**
   * A `transaction: false` migration can be left half-applied, so an attempt row is written
   * before it runs and cleared with its history row: if it throws, or its process dies, the
   * row stays, and later starts refuse to retry it blindly.
   */
  private async applyOutside(migration: MigrationDefinition, counter: Counter): Promise<HistoryRecord> {
    await this.step(`record the start of "${migration.name}"`, async () => {
      await this.driver.history.startAttempt(migration.name, migration.version, this.lease.owner);
      await this.lease.setCurrent(migration.name);
    });
    let record: HistoryRecord;
    let guard: ForeignKeyGuard | undefined;
    // What it changes outside a transaction is not tracked: the next migration checks afresh.
    this.foreignKeysNow = undefined;
    try {
      guard = await ForeignKeyGuard.around(this.driver.foreignKeys, migration, this.logger);
      record = await this.applyOne(migration, counter);
      if (this.driver.session.inTransaction()) throw new Error('up() left a transaction open (BEGIN without COMMIT); it was rolled back');
      // Outside a transaction nothing can be rolled back: new violations are reported, not undone.
      const added = await guard.added([migration.name]);
      if (added.size > 0) {
        const list = [...added].map(([table, count]) => `${table} (${count})`).join(', ');
        this.logger.warn(
          `Migration "${migration.name}" (transaction: false) left rows that violate foreign keys: ${list}. Check them with PRAGMA foreign_key_check.`,
        );
      }
    } catch (cause) {
      // A transaction it left open would otherwise swallow everything written after it.
      await this.rollbackQuietly();
      // Unless the file is damaged (nothing may write to it), the attempt row stays either way: later starts still refuse to retry it.
      if (!isDamage(cause)) {
        try {
          await this.driver.history.failAttempt(migration.name, describeCause(cause));
        } catch (error) {
          this.logger.warn(`Could not record the failure of "${migration.name}": ${describeCause(error)}`);
        }
      }
      throw this.failed(migration, cause, 'none');
    } finally {
      if (guard) await this.holdForeignKeys(guard);
    }
    await this.step(`record "${migration.name}" as applied`, async () => {
      await inTransaction(this.driver.session, async () => {
        await this.driver.history.recordApplied(record);
        await this.driver.history.clearAttempt(migration.name);
      });
      await this.lease.setCurrent(null);
    });
    return record;
  }

  private async applyOne(migration: MigrationDefinition, counter: Counter, laterInBatch: readonly string[] = []): Promise<HistoryRecord> {
    const index = counter.done + 1;
    this.events.emit({ type: 'migration-started', name: migration.name, index, total: counter.total });
    const started = performance.now();
    await this.operations.running(migration.name, laterInBatch, async () => migration.instance().up(this.driver.session.connection));
    const record = historyRecordFor(migration, Math.round(performance.now() - started));
    counter.done = index;
    // migration-applied follows the commit (in apply): an event must never count rolled-back work.
    return record;
  }

  /**
   * up() threw inside the runner's transaction. If the transaction it ran in is gone and the
   * database did not roll it back because of the error, up() ended it itself before throwing.
   */
  private async upThrew(
    migration: MigrationDefinition,
    cause: unknown,
    outcome: FailureOutcome,
    earlierInBatch: readonly string[],
  ): Promise<MigrationFailedError> {
    if ((await markOutcome(this.driver.session, cause)) !== 'escaped') return this.failed(migration, cause, outcome);
    return this.escaped(migration, cause, earlierInBatch);
  }

  /**
   * up() ended the runner's transaction itself (COMMIT or ROLLBACK, perhaps BEGIN again): what
   * it ran before that may be committed, without a history row. Like an interrupted
   * `transaction: false` migration, it leaves an attempt row, so that no later start retries it
   * before an operator has checked the database and resolved it; its error says when even that
   * row could not be written (outcome `escaped-unrecorded`).
   */
  private async escaped(migration: MigrationDefinition, thrown: unknown, earlierInBatch: readonly string[]): Promise<MigrationFailedError> {
    const reason = escapeReason(this.driver.session, 'up()', thrown);
    // Whatever up() began after ending ours is not part of any migration: it is rolled back.
    await this.rollbackQuietly();
    const recorded = await this.recordEscape(migration, reason, thrown);
    let batch = '';
    if (earlierInBatch.length > 0) {
      // Their history rows were in the same transaction: committed with it, or rolled back with it.
      const applied = new Set((await this.step('read the migration history', () => this.driver.history.readHistory())).map((h) => h.name));
      const committed = earlierInBatch.filter((name) => applied.has(name));
      batch =
        committed.length > 0
          ? ` The migrations before it in its batch were committed with it and are recorded as applied: ${committed.join(', ')}.`
          : ' The migrations before it in its batch were rolled back.';
    }
    this.logger.warn(
      `Migration "${migration.name}" ended the runner's transaction itself: ${reason}. ` +
        `What it ran before its COMMIT may be committed, with no history row; what it ran after a new BEGIN was rolled back.${batch} ` +
        (recorded
          ? `It is recorded as interrupted: the next start refuses (INTERRUPTED_MIGRATION) until you check the database and resolve it (resolve ${migration.name} applied | rolled-back).`
          : 'It could not be recorded as interrupted, so the next start would run it again: check the database before starting again.'),
    );
    return this.failed(migration, thrown ?? new Error(reason), recorded ? 'escaped' : 'escaped-unrecorded');
  }

  /** Writes the attempt row of an escaped migration; false (and a warning) when even that fails, or when the file is damaged. */
  private async recordEscape(migration: MigrationDefinition, reason: string, thrown: unknown): Promise<boolean> {
    if (isDamage(thrown)) return false;
    try {
      await inTransaction(this.driver.session, async () => {
        await this.driver.history.startAttempt(migration.name, migration.version, this.lease.owner);
        await this.driver.history.failAttempt(migration.name, reason);
      });
      return true;
    } catch (error) {
      this.logger.warn(`Could not record "${migration.name}" as interrupted: ${describeCause(error)}`);
      return false;
    }
  }

  private failed(migration: MigrationDefinition, cause: unknown, outcome: FailureOutcome): MigrationFailedError {
    const error = new MigrationFailedError(migration.name, cause, outcome, this.backup.causeContext());
    this.events.emit({ type: 'migration-failed', name: migration.name, code: error.code, message: error.message });
    return error;
  }

  /** One of the module's own database steps, its failure's advice naming the database, the backup folder and the newest backup. */
  private step<T>(action: string, work: () => T | Promise<T>): Promise<T> {
    return step(action, work, () => this.backup.causeContext());
  }

  /** Rolls back if a transaction is open; a failing rollback must not hide the error that caused it. */
  private async rollbackQuietly(): Promise<void> {
    try {
      await this.driver.session.rollback();
    } catch (error) {
      this.logger.warn(`Rollback failed: ${describeCause(error)}`);
    }
  }

  /** Migrations not in `history`, in order; with `limit`, only those up to that index. */
  private pendingAfter(history: readonly HistoryRecord[], limit = this.migrations.length - 1): MigrationDefinition[] {
    const applied = new Set(history.map((h) => h.name));
    return this.migrations.filter((m, index) => index <= limit && !applied.has(m.name));
  }

  private rejectOutOfOrder(pending: readonly MigrationDefinition[], history: readonly HistoryRecord[]): void {
    const newest = newestOf(history);
    if (this.options.allowOutOfOrder || newest === null) return;
    const early = pending.filter((m) => compareNames(m.name, newest) < 0).map((m) => m.name);
    if (early.length > 0) throw new OutOfOrderMigrationError(early, newest);
  }

  /**
   * Applied migrations whose code changed since: an error (`validateChecksums: true`), a warning
   * logged once (`'warn'`), or nothing (`false`). Rows without a checksum (recorded by resolve()
   * for a migration the code no longer had) are skipped.
   */
  private validateChecksums(history: readonly HistoryRecord[]): void {
    if (this.options.validateChecksums === false) return;
    const mismatches = checksumMismatches(this.migrations, history);
    if (mismatches.length === 0) return;
    const error = new ChecksumMismatchError(mismatches);
    if (this.options.validateChecksums === true) throw error;
    if (!this.checksumsWarned) this.logger.warn(error.message);
    this.checksumsWarned = true;
  }

  /** Applied migrations this code does not know: a newer release ran them (rolling deployment). */
  private reportUnknown(history: readonly HistoryRecord[]): void {
    if (this.unknownReported) return;
    const known = new Set(this.migrations.map((m) => m.name));
    const unknown = history.filter((h) => !known.has(h.name)).map((h) => h.name);
    if (unknown.length === 0) return;
    this.unknownReported = true;
    this.logger.warn(
      `Applied migration${unknown.length === 1 ? '' : 's'} not in this code: ${unknown.join(', ')}. ` +
        'A newer release applied them (expected during a rolling deployment); status lists them under "unknown".',
    );
  }

  private finished(started: number, error?: unknown): void {
    this.events.emit({
      type: 'run-finished',
      outcome: error ? 'failed' : 'up-to-date',
      applied: this.appliedThisRun,
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

/** Whether a failure says the database file is damaged: then nothing more is written to it. */
function isDamage(error: unknown): boolean {
  return classifyCause(error).kind === 'damaged';
}

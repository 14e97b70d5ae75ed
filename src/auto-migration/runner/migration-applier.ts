import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { CapturedStatement, RehearsalCopy } from '../driver/capabilities';
import type { DatabaseDriver } from '../driver/database-driver';
import type { HistoryRecord } from '../driver/history-store';
import type { MigrationSession } from '../driver/migration-session';
import { describeCause } from '../errors/auto-migration.error';
import { ForeignKeyViolationError } from '../errors/foreign-key-violation.error';
import { LockLostError } from '../errors/lock-lost.error';
import { type FailureOutcome, MigrationFailedError } from '../errors/migration-failed.error';
import { RevertFailedError } from '../errors/revert-failed.error';
import { ShuttingDownError } from '../errors/shutting-down.error';
import { classifyCause } from '../errors/cause-advice';
import { MigrationEvents } from '../events/migration-events';
import { MigrationLease } from '../lock/migration-lease';
import { type Batch, planBatches } from './batch-plan';
import { inTransaction, step } from './database-step';
import { ForeignKeyGuard } from './foreign-key-guard';
import { historyRecordFor } from './history';
import { MigrationOperations } from './migration-operations';
import { escapeReason, markOutcome } from './transaction-escape';
import { MigrationLogger } from '../logging/migration-logger';

type Counter = { done: number; readonly total: number };
type Violations = { counts: Map<string, number>; unchecked: string[] };

/** When a migration on a copy returned from `up()` and when its transaction committed (`performance.now()`), for the dry run's timings. */
export interface CopyTimes {
  returned: number | null;
  committed: number | null;
}

/**
 * Runs migrations' code in transactions: `up()` for a run and on a rehearsal copy, `down()` for a
 * revert. Owns what a migration's transaction needs around it: foreign-key enforcement switched
 * off (see `ForeignKeyGuard`) and the violations it adds refused, a mark that tells whether the
 * code ended the transaction itself, the attempt row of a `transaction: false` migration, the
 * history row committed with the migration, and the per-migration events. One piece, so that the
 * run, the revert and the copy run cannot drift apart.
 */
@Injectable()
export class MigrationApplier {
  /** Migrations committed by the current run, for its run-finished event even when it fails. */
  private appliedThisRun = 0;
  /** Foreign-key violations as the last committed migration of this run left them. */
  private foreignKeysNow?: Violations;
  /**
   * The guard that turned enforcement off, while it stays off between batches: turning it off
   * and on around every migration cost two PRAGMA writes each, and every write makes SQLite
   * recompile the connection's prepared statements. Restored before an `'enforce'` migration
   * and when the run ends.
   */
  private heldGuard?: ForeignKeyGuard;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly events: MigrationEvents,
    private readonly backup: BackupService,
    private readonly operations: MigrationOperations,
    private readonly logger: MigrationLogger,
  ) {}

  /** Starts counting a new run: nothing applied yet, no foreign-key state carried over from an earlier run. */
  startRun(): void {
    this.appliedThisRun = 0;
    this.foreignKeysNow = undefined;
  }

  /** Migrations the current run has committed so far. */
  get applied(): number {
    return this.appliedThisRun;
  }

  /**
   * Applies `pending` in the batches `transactionMode` makes, each committed with its history
   * rows, which are appended to `history` (the very array the status holds: status sees each
   * batch once it is committed). Stops between batches when shutdown asks (`ShuttingDownError`).
   */
  async apply(pending: readonly MigrationDefinition[], history: HistoryRecord[]): Promise<void> {
    this.events.emit({ type: 'run-started', pending: pending.length, transactionMode: this.options.transactionMode });
    const counter: Counter = { done: 0, total: pending.length };
    try {
      for (const batch of planBatches(pending, this.options.transactionMode)) {
        if (this.operations.stopRequested) throw new ShuttingDownError(this.appliedThisRun, pending.length);
        if (batch.migrations[0].foreignKeys === 'enforce') await this.releaseForeignKeys();
        const records = batch.transactional ? await this.applyInTransaction(batch, counter) : [await this.applyOutside(batch.migrations[0], counter)];
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
   * Runs one `down()` and deletes its history row, in one transaction unless it says
   * `transaction: false`, with the same foreign-key check and escape detection as `up()`.
   * @returns how long it took, in whole milliseconds
   */
  async revert(migration: MigrationDefinition, revertedBefore: string[]): Promise<number> {
    const session = this.driver.session;
    const guard = await ForeignKeyGuard.around(this.driver.foreignKeys, migration, this.logger);
    const started = performance.now();
    let escaped = false;
    try {
      if (migration.transaction) {
        await inTransaction(session, async () => {
          // The mark tells whether down() ended this transaction itself (as applyInTransaction does for up()).
          await session.openMark();
          try {
            await migration.instance().down!(session.connection);
          } catch (cause) {
            if ((await markOutcome(session, cause)) !== 'escaped') throw cause;
            escaped = true;
            throw new Error(escapeReason(session, 'down()', cause), { cause });
          }
          if (!(await session.releaseMark())) {
            escaped = true;
            throw new Error(escapeReason(session, 'down()'));
          }
          await this.driver.history.removeApplied(migration.name);
          const added = await guard.added([migration.name]);
          if (added.size > 0) throw new ForeignKeyViolationError([migration.name], added, 'down');
        });
      } else {
        await outside(session, async () => migration.instance().down!(session.connection));
        if (session.inTransaction()) {
          await session.rollback();
          throw new Error('down() left a transaction open (BEGIN without COMMIT); it was rolled back');
        }
        await inTransaction(session, () => this.driver.history.removeApplied(migration.name));
      }
    } catch (cause) {
      if (cause instanceof ForeignKeyViolationError) throw cause;
      this.logger.error(`Reverting "${migration.name}" failed: ${describeCause(cause)}`);
      throw new RevertFailedError(migration.name, cause, escaped ? 'escaped' : migration.transaction ? 'rolled-back' : 'outside-transaction', revertedBefore);
    } finally {
      await guard.restore();
    }
    return Math.round(performance.now() - started);
  }

  /**
   * Applies one migration to a rehearsal copy as a run would (its own transaction unless it says
   * `transaction: false`, foreign keys off around it, new violations refused), capturing into
   * `issued` every statement its `up()` issues, and noting in `times` when it returned and
   * committed. Writes no history, attempt or event: the copy is thrown away.
   * @returns null when it committed, or what made it fail (its transaction rolled back)
   */
  async onCopy(copy: RehearsalCopy, migration: MigrationDefinition, issued: CapturedStatement[], times: CopyTimes): Promise<{ cause: unknown } | null> {
    const session = copy.session;
    const guard = await ForeignKeyGuard.around(copy.foreignKeys, migration, this.logger);
    try {
      if (migration.transaction) await session.begin();
      copy.capture = issued;
      try {
        await migration.instance().up(session.connection);
      } finally {
        copy.capture = null;
        times.returned = performance.now();
      }
      const added = await guard.added([migration.name]);
      if (added.size > 0 && migration.transaction) throw new ForeignKeyViolationError([migration.name], added);
      if (migration.transaction) {
        await session.commit();
        times.committed = performance.now();
      }
      return null;
    } catch (cause) {
      await session.rollback();
      return { cause };
    } finally {
      await guard.restore();
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
    const session = this.driver.session;
    const records: HistoryRecord[] = [];
    const outcome: FailureOutcome = batch.migrations.length > 1 ? 'batch' : 'migration';
    const names = batch.migrations.map((m) => m.name);
    const guard = await ForeignKeyGuard.around(this.driver.foreignKeys, batch.migrations[0], this.logger, this.foreignKeysNow);
    this.foreignKeysNow = undefined;
    try {
      await this.step('begin a migration transaction', () => session.begin());
      for (const [index, migration] of batch.migrations.entries()) {
        // The mark tells whether up() ended this transaction itself: a COMMIT, or a ROLLBACK and BEGIN, leaves session.inTransaction() as it was.
        await this.step('open a savepoint for the migration', () => session.openMark());
        let record: HistoryRecord;
        try {
          record = await this.applyOne(migration, counter, () => names.slice(index + 1));
        } catch (cause) {
          throw await this.upThrew(migration, cause, outcome, names.slice(0, index));
        }
        if (!(await this.step('release the savepoint of the migration', () => session.releaseMark()))) {
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
        await session.commit();
        this.foreignKeysNow = guard.after;
      } catch (cause) {
        // Not committed because another process may hold the lock now: the batch is named, the code kept.
        if (cause instanceof LockLostError) throw new LockLostError(names.join(', '), cause.detail);
        // Deferred constraints are checked at COMMIT: the failure belongs to the batch, not its last member.
        throw this.failed(batch.migrations[batch.migrations.length - 1], new Error(`committing ${names.join(', ')} failed: ${describeCause(cause)}`), outcome);
      }
    } catch (error) {
      // Whatever failed (a migration, the check, the commit), nothing of the batch may stay open.
      await this.rollbackQuietly(session);
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
      // In a transaction of its own: its commit checks that this process still holds the lock
      // (PostgreSQL's fence), so a process that lost it writes no attempt row for a migration
      // the next holder may already have applied.
      await inTransaction(this.driver.session, () => this.driver.history.startAttempt(migration.name, migration.version, this.lease.owner));
      await this.lease.setCurrent(migration.name);
    });
    let record: HistoryRecord;
    let guard: ForeignKeyGuard | undefined;
    // What it changes outside a transaction is not tracked: the next migration checks afresh.
    this.foreignKeysNow = undefined;
    try {
      guard = await ForeignKeyGuard.around(this.driver.foreignKeys, migration, this.logger);
      record = await outside(this.driver.session, () => this.applyOne(migration, counter));
      if (this.driver.session.inTransaction()) throw new Error('up() left a transaction open (BEGIN without COMMIT); it was rolled back');
      // Outside a transaction nothing can be rolled back: new violations are reported, not undone.
      const added = await guard.added([migration.name]);
      if (added.size > 0) {
        const list = [...added].map(([table, count]) => `${table} (${count})`).join(', ');
        this.logger.warn(
          `Migration "${migration.name}" (transaction: false) left rows that violate foreign keys: ${list}. Check them with ${this.driver.foreignKeys?.violationCheck ?? "the database's foreign-key check"}.`,
        );
      }
    } catch (cause) {
      // A transaction it left open would otherwise swallow everything written after it.
      await this.rollbackQuietly(this.driver.session);
      // The lock was lost before the migration ran (its session's check): nothing ran, and
      // nothing more may be written.
      if (cause instanceof LockLostError) throw new LockLostError(migration.name, cause.detail);
      const leftovers = await this.leftovers();
      // Unless the file is damaged (nothing may write to it), the attempt row stays either way: later starts still refuse to retry it.
      if (!isDamage(cause)) {
        try {
          await this.driver.history.failAttempt(migration.name, `${describeCause(cause)}${leftovers ? ` ${leftovers}` : ''}`);
        } catch (error) {
          this.logger.warn(`Could not record the failure of "${migration.name}": ${describeCause(error)}`);
        }
      }
      throw this.failed(migration, cause, 'none', leftovers);
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

  private async applyOne(migration: MigrationDefinition, counter: Counter, laterInBatch: () => readonly string[] = () => []): Promise<HistoryRecord> {
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
    await this.rollbackQuietly(this.driver.session);
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

  private failed(migration: MigrationDefinition, cause: unknown, outcome: FailureOutcome, leftovers: string | null = null): MigrationFailedError {
    const error = new MigrationFailedError(migration.name, cause, outcome, this.backup.causeContext(), leftovers);
    this.events.emit({ type: 'migration-failed', name: migration.name, code: error.code, message: error.message });
    return error;
  }

  /** What the database says a failed `transaction: false` migration left behind; never a failure of its own. */
  private async leftovers(): Promise<string | null> {
    try {
      return (await this.driver.leftovers?.describe()) ?? null;
    } catch (error) {
      this.logger.warn(`Could not list what the failed migration left behind: ${describeCause(error)}`);
      return null;
    }
  }

  /** One of the module's own database steps, its failure's advice naming the database, the backup folder and the newest backup. */
  private step<T>(action: string, work: () => T | Promise<T>): Promise<T> {
    return step(action, work, () => this.backup.causeContext());
  }

  /** Rolls back if a transaction is open; a failing rollback must not hide the error that caused it. */
  private async rollbackQuietly(session: MigrationSession): Promise<void> {
    try {
      await session.rollback();
    } catch (error) {
      this.logger.warn(`Rollback failed: ${describeCause(error)}`);
    }
  }
}

/** Whether a failure says the database file is damaged: then nothing more is written to it. */
export function isDamage(error: unknown): boolean {
  return classifyCause(error).kind === 'damaged';
}

/** A `transaction: false` migration's code, as its session runs such code (see `MigrationSession.outside`). */
function outside<T>(session: MigrationSession, work: () => Promise<T>): Promise<T> {
  return session.outside ? session.outside(work) : work();
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { compareNames } from '../discovery/migration-validator';
import type { HistoryRecord, MigrationDriver } from '../driver/migration-driver';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { InterruptedMigrationError } from '../errors/interrupted-migration.error';
import { MigrationFailedError } from '../errors/migration-failed.error';
import { OutOfOrderMigrationError } from '../errors/out-of-order-migration.error';
import { MigrationEvents } from '../events/migration-events';
import { MigrationLease } from '../lock/migration-lease';
import { MigrationState } from '../status/migration.state';
import { type Batch, planBatches } from './batch-plan';

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
  /** Migrations committed by the current run, for its run-finished event even when it fails. */
  private appliedThisRun = 0;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: MigrationDriver,
    private readonly lease: MigrationLease,
    private readonly state: MigrationState,
    private readonly events: MigrationEvents,
  ) {}

  /** Applies every pending migration. Rejects with the error that stopped the run. */
  async run(): Promise<void> {
    const started = performance.now();
    this.state.runStarted();
    this.appliedThisRun = 0;
    try {
      await this.runLocked();
      this.state.runSucceeded();
      this.finished(started);
    } catch (error) {
      this.state.runFailed(error);
      this.finished(started, error);
      throw error;
    }
  }

  /**
   * Settles an interrupted `transaction: false` migration after an operator checked the database:
   * `'applied'` records it as applied, `'rolled-back'` lets it run again. Takes the lock.
   */
  async resolve(name: string, resolution: 'applied' | 'rolled-back', onMissing: (interrupted: string[]) => Error): Promise<void> {
    await this.lease.acquire();
    try {
      const attempts = await this.driver.readAttempts();
      const attempt = attempts.find((a) => a.name === name);
      if (!attempt) throw onMissing(attempts.map((a) => a.name));
      await this.driver.begin();
      try {
        if (resolution === 'applied') {
          // A migration this code no longer has is recorded with what its attempt row knew.
          const known = this.migrations.find((m) => m.name === name) ?? { name, version: attempt.version, description: '', checksum: '' };
          await this.driver.recordApplied(this.recordFor(known, 0));
        }
        await this.driver.clearAttempt(name);
        await this.driver.commit();
      } catch (error) {
        await this.driver.rollback();
        throw error;
      }
      this.logger.log(`Resolved interrupted migration "${name}" as ${resolution}`);
    } finally {
      await this.lease.release();
    }
  }

  private async runLocked(): Promise<void> {
    // Lock-free fast path for the common start: tables current and nothing pending. Other
    // runners can only add history rows, so "nothing pending" read now stays true.
    if (await this.driver.isSchemaCurrent()) {
      const history = await this.driver.readHistory();
      this.state.setHistory(history);
      this.reportUnknown(history);
      if (this.pendingAfter(history).length === 0) return;
    }

    await this.lease.acquire();
    this.state.setLockHeld(true);
    try {
      // Re-read under the lock: another process may have applied migrations while we waited.
      const history = await this.driver.readHistory();
      this.state.setHistory(history);
      this.reportUnknown(history);
      const attempts = await this.driver.readAttempts();
      if (attempts.length > 0) throw new InterruptedMigrationError(attempts);
      const pending = this.pendingAfter(history);
      if (pending.length === 0) return;
      this.rejectOutOfOrder(pending, history);
      await this.apply(pending, history);
    } finally {
      await this.lease.release();
      this.state.setLockHeld(false);
    }
  }

  private async apply(pending: readonly MigrationDefinition[], history: HistoryRecord[]): Promise<void> {
    this.events.emit({ type: 'run-started', pending: pending.length, transactionMode: this.options.transactionMode });
    const counter = { done: 0, total: pending.length };
    for (const batch of planBatches(pending, this.options.transactionMode)) {
      const records = batch.transactional ? await this.applyInTransaction(batch, counter) : [await this.applyOutside(batch.migrations[0], counter)];
      // The state holds this very array: status sees each batch once it is committed.
      history.push(...records);
      this.appliedThisRun += records.length;
      await this.lease.beat();
    }
  }

  private async applyInTransaction(batch: Batch, counter: { done: number; total: number }): Promise<HistoryRecord[]> {
    const records: HistoryRecord[] = [];
    await this.driver.begin();
    let current: MigrationDefinition | undefined;
    try {
      for (current of batch.migrations) {
        const record = await this.applyOne(current, counter);
        await this.driver.recordApplied(record);
        records.push(record);
      }
      await this.driver.commit();
    } catch (cause) {
      await this.driver.rollback();
      throw this.failed(current!, cause, batch.migrations.length > 1 ? 'batch' : 'migration');
    }
    return records;
  }

  /**
   * A `transaction: false` migration can be left half-applied, so an attempt row is written
   * before it runs and cleared with its history row: if it throws, or its process dies, the
   * row stays, and later starts refuse to retry it blindly.
   */
  private async applyOutside(migration: MigrationDefinition, counter: { done: number; total: number }): Promise<HistoryRecord> {
    await this.driver.startAttempt(migration.name, migration.version, this.lease.owner);
    await this.lease.setCurrent(migration.name);
    let record: HistoryRecord;
    try {
      record = await this.applyOne(migration, counter);
    } catch (cause) {
      await this.driver.failAttempt(migration.name, describeCause(cause));
      throw this.failed(migration, cause, 'none');
    }
    await this.driver.begin();
    try {
      await this.driver.recordApplied(record);
      await this.driver.clearAttempt(migration.name);
      await this.driver.commit();
    } catch (error) {
      await this.driver.rollback();
      throw error;
    }
    await this.lease.setCurrent(null);
    return record;
  }

  private async applyOne(migration: MigrationDefinition, counter: { done: number; total: number }): Promise<HistoryRecord> {
    const index = counter.done + 1;
    this.events.emit({ type: 'migration-started', name: migration.name, index, total: counter.total });
    const started = performance.now();
    await migration.instance().up(this.driver.connection as never);
    const record = this.recordFor(migration, Math.round(performance.now() - started));
    counter.done = index;
    this.events.emit({ type: 'migration-applied', name: migration.name, index, total: counter.total, executionTimeMs: record.executionTimeMs });
    return record;
  }

  private recordFor(migration: Pick<MigrationDefinition, 'name' | 'version' | 'description' | 'checksum'>, executionTimeMs: number): HistoryRecord {
    const { name, version, description, checksum } = migration;
    return { name, version, description, checksum, appliedAt: new Date().toISOString(), executionTimeMs };
  }

  private failed(migration: MigrationDefinition, cause: unknown, rolledBack: 'migration' | 'batch' | 'none'): MigrationFailedError {
    const error = new MigrationFailedError(migration.name, cause, rolledBack);
    this.events.emit({ type: 'migration-failed', name: migration.name, code: error.code, message: error.message });
    return error;
  }

  private pendingAfter(history: readonly HistoryRecord[]): MigrationDefinition[] {
    const applied = new Set(history.map((h) => h.name));
    return this.migrations.filter((m) => !applied.has(m.name));
  }

  private rejectOutOfOrder(pending: readonly MigrationDefinition[], history: readonly HistoryRecord[]): void {
    if (this.options.allowOutOfOrder || history.length === 0) return;
    const newest = history.map((h) => h.name).reduce((a, b) => (compareNames(a, b) >= 0 ? a : b));
    const early = pending.filter((m) => compareNames(m.name, newest) < 0).map((m) => m.name);
    if (early.length > 0) throw new OutOfOrderMigrationError(early, newest);
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
        error: { code: error instanceof AutoMigrationError ? error.code : 'UNEXPECTED_ERROR', message: describeCause(error) },
      }),
    });
  }
}

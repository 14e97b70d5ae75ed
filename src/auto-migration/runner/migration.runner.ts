import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, MIGRATION_DRIVER, MIGRATION_LOCK, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { HistoryRecord, MigrationDriver, MigrationLock } from '../driver/migration-driver';
import { MigrationFailedError } from '../errors/migration-failed.error';
import { MigrationState } from '../status/migration.state';
import { planBatches } from './batch-plan';

/**
 * One run: lock -> (re)read history -> apply what is pending -> record -> release.
 * Each migration commits together with its history row, so it is applied and recorded, or
 * neither. Only one process runs at a time; the others wait for the lock, then find nothing
 * left to do.
 */
@Injectable()
export class MigrationRunner {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: MigrationDriver,
    @Inject(MIGRATION_LOCK) private readonly lock: MigrationLock,
    private readonly state: MigrationState,
  ) {}

  /** Applies every pending migration. Rejects with the error that stopped the run. */
  async run(): Promise<void> {
    this.state.runStarted();
    try {
      await this.runLocked();
      this.state.runSucceeded();
    } catch (error) {
      this.state.runFailed(error);
      throw error;
    }
  }

  private async runLocked(): Promise<void> {
    // Lock-free fast path for the common start: tables current and nothing pending. Other
    // runners can only add history rows, so "nothing pending" read now stays true.
    if (await this.driver.isSchemaCurrent()) {
      const history = await this.driver.readHistory();
      if (this.pendingAfter(history).length === 0) return this.upToDate(history);
    }

    await this.lock.acquire(this.options.lock.timeoutMs);
    this.state.setLockHeld(true);
    try {
      await this.driver.ensureSchema();
      // Re-read under the lock: another process may have applied migrations while we waited.
      const history = await this.driver.readHistory();
      this.state.setHistory(history);
      const pending = this.pendingAfter(history);
      if (pending.length === 0) return this.upToDate(history);
      await this.driver.writeLease(true);
      try {
        await this.apply(pending, history);
      } finally {
        await this.driver.writeLease(false);
      }
    } finally {
      this.lock.release();
      this.state.setLockHeld(false);
    }
  }

  private async apply(pending: readonly MigrationDefinition[], history: HistoryRecord[]): Promise<void> {
    const mode = this.options.transactionMode;
    this.logger.log(`${pending.length} pending migration${pending.length === 1 ? '' : 's'} (transactionMode "${mode}")`);
    const runStart = performance.now();
    let done = 0;
    for (const batch of planBatches(pending, mode)) {
      const records: HistoryRecord[] = [];
      if (batch.transactional) await this.driver.begin();
      let current: MigrationDefinition | undefined;
      try {
        for (current of batch.migrations) {
          const record = await this.applyOne(current);
          records.push(record);
          this.logger.log(`[${++done}/${pending.length}] ${current.name} (${record.executionTimeMs} ms)`);
        }
        if (batch.transactional) await this.driver.commit();
      } catch (cause) {
        if (batch.transactional) await this.driver.rollback();
        const scope = !batch.transactional ? 'none' : batch.migrations.length > 1 ? 'batch' : 'migration';
        throw new MigrationFailedError(current!.name, cause, scope);
      }
      // The state holds this very array: status sees each batch once it is committed.
      history.push(...records);
    }
    const total = Math.round(performance.now() - runStart);
    this.logger.log(`Applied ${pending.length} migration${pending.length === 1 ? '' : 's'} in ${total} ms; schema up to date`);
  }

  /** Runs `up` and writes the history row: in the open transaction, or on its own for `transaction: false`. */
  private async applyOne(migration: MigrationDefinition): Promise<HistoryRecord> {
    const started = performance.now();
    await migration.instance().up(this.driver.connection as never);
    const record: HistoryRecord = {
      name: migration.name,
      version: migration.version,
      description: migration.description,
      checksum: migration.checksum,
      appliedAt: new Date().toISOString(),
      executionTimeMs: Math.round(performance.now() - started),
    };
    await this.driver.recordApplied(record);
    return record;
  }

  private pendingAfter(history: readonly HistoryRecord[]): MigrationDefinition[] {
    const applied = new Set(history.map((h) => h.name));
    return this.migrations.filter((m) => !applied.has(m.name));
  }

  private upToDate(history: HistoryRecord[]): void {
    this.state.setHistory(history);
    this.logger.log(`Schema up to date (${history.length} applied, nothing pending)`);
  }
}

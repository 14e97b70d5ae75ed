import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { compareNames } from '../discovery/migration-validator';
import type { AttemptRecord, HistoryRecord } from '../driver/history-store';
import { ChecksumMismatchError } from '../errors/checksum-mismatch.error';
import { InterruptedMigrationError } from '../errors/interrupted-migration.error';
import { OutOfOrderMigrationError } from '../errors/out-of-order-migration.error';
import { UnknownMigrationError } from '../errors/unknown-migration.error';
import { interruptedAttempts } from '../lock/live-attempts';
import type { LockHolder } from '../lock/lock-holder';
import { checksumMismatches, newestOf } from './history';
import { MigrationLogger } from '../logging/migration-logger';

/** The options the plan reads. */
export type PlanOptions = Pick<ResolvedAutoMigrationOptions, 'validateChecksums' | 'allowOutOfOrder'>;

/**
 * What the code's migrations say about a history already read: what is pending, and what a run
 * must refuse (changed checksums, interrupted attempts, out-of-order migrations). Reads and writes
 * nothing, so every check runs the same in a run, a status, a dry run and a unit test. It only
 * remembers what it has already warned about: a warning repeated at every status read is noise.
 */
@Injectable()
export class MigrationPlan {
  private unknownReported = false;
  private checksumsWarned = false;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: PlanOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    // Built by itself (unit tests), the plan logs as the default instance.
    private readonly logger: MigrationLogger = new MigrationLogger(),
  ) {}

  /** Every migration of the code, in order: what counts as pending when the history cannot be read. */
  names(): string[] {
    return this.migrations.map((m) => m.name);
  }

  /** Index of `name` in the sorted migrations, the limit of `run(to)`; `UnknownMigrationError` when the code has no such migration. */
  positionOf(name: string): number {
    const index = this.migrations.findIndex((m) => m.name === name);
    if (index < 0) throw new UnknownMigrationError(name, 'in the code');
    return index;
  }

  /** Migrations not in `history`, in order; with `limit`, only those up to that index. */
  pendingAfter(history: readonly HistoryRecord[], limit = this.migrations.length - 1): MigrationDefinition[] {
    const applied = new Set(history.map((h) => h.name));
    return this.migrations.filter((m, index) => index <= limit && !applied.has(m.name));
  }

  /** Takes `history` as the current one: migrations this code lacks are reported (once), checksums validated. */
  accept(history: readonly HistoryRecord[]): void {
    this.reportUnknown(history);
    this.validateChecksums(history);
  }

  /**
   * The checks a run makes before applying anything, on what it read, after its checksums were
   * validated (`accept()` or `validateChecksums()`): interrupted attempts (`interrupted`, already
   * told apart from running ones, see `interrupted()`), then out-of-order migrations.
   * @returns what is pending (up to index `limit`)
   */
  preflight(history: readonly HistoryRecord[], interrupted: AttemptRecord[], limit?: number): MigrationDefinition[] {
    if (interrupted.length > 0) throw new InterruptedMigrationError(interrupted);
    const pending = this.pendingAfter(history, limit);
    this.rejectOutOfOrder(pending, history);
    return pending;
  }

  /**
   * The attempts that are interrupted rather than running. While this process holds the lock, it
   * knows what it runs (`running`, the migration whose `up()` runs now): every other attempt row,
   * its own earlier ones included (a migration that failed or escaped its transaction with
   * `failOnError: false`), is interrupted. Otherwise `holder` (who holds the lock, see
   * `MigrationLease.currentHolder()`) decides, as `interruptedAttempts` says.
   */
  interrupted(
    attempts: readonly AttemptRecord[],
    who: { readonly holding: true; readonly running?: string } | { readonly holding: false; readonly holder: LockHolder | null },
  ): AttemptRecord[] {
    if (who.holding) return attempts.filter((attempt) => attempt.name !== who.running);
    return interruptedAttempts(attempts, who.holder);
  }

  /** `OutOfOrderMigrationError` when a pending migration sorts before the newest applied one (unless `allowOutOfOrder`). */
  rejectOutOfOrder(pending: readonly MigrationDefinition[], history: readonly HistoryRecord[]): void {
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
  validateChecksums(history: readonly HistoryRecord[]): void {
    if (this.options.validateChecksums === false) return;
    const mismatches = checksumMismatches(this.migrations, history);
    if (mismatches.length === 0) return;
    const error = new ChecksumMismatchError(mismatches);
    if (this.options.validateChecksums === true) throw error;
    if (!this.checksumsWarned) this.logger.warn(error.message);
    this.checksumsWarned = true;
  }

  /** Applied migrations this code does not know: a newer release ran them (rolling deployment). Logged once. */
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
}

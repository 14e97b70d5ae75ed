import { Inject, Injectable, Logger } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import type { HistoryRecord } from '../driver/history-store';
import type { LockHolder } from '../lock/lock-holder';
import { MigrationLease } from '../lock/migration-lease';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { BackupService } from '../backup/backup.service';
import type { BackupStatus, MigrationLockStatus, MigrationStatus, MigrationStatusError } from './migration-status.interface';
import { LOCKED_OUT_PATIENCE_MS, readUnlessLockedOut } from './locked-out-read';
import { redactPaths } from './redact';

/** How long `whenReady()` may wait for a run that has not started before we suspect a deadlock. */
const NOT_STARTED_WARNING_MS = 10_000;

/**
 * The state of migrations in this instance, shared by the runner (which writes it) and the
 * status endpoint, health indicator and service (which read it).
 */
@Injectable()
export class MigrationState {
  private running = false;
  private started = false;
  /** mode 'verify': started without a run, waiting for another instance; a run now settles the same promise. */
  private awaitingOthers = false;
  private lastError: MigrationStatusError | null = null;
  private history: HistoryRecord[] = [];
  /** Whether `history` was ever read: until then an empty list would be a guess, not a last known state. */
  private historyRead = false;
  private historyReadAt: string | null = null;
  /** The last attempt to re-read the history failed: `history` is the last one read. */
  private historyStale = false;
  /** Why it failed, when that was not another process's commit locking readers out (redacted). */
  private historyError: string | null = null;
  /** When a read was last locked out (ms since the epoch): a status right after it does not wait again. */
  private lockedOutAt = 0;
  /** This instance has been up to date (its run succeeded, or verify mode found every migration applied). */
  private everReady = false;
  private ready!: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly lease: MigrationLease,
    private readonly backup: BackupService,
  ) {
    this.arm();
  }

  runStarted(): void {
    // A later run (migrate(), resolve()) gets a fresh promise for whenReady().
    if (this.started && !this.awaitingOthers) this.arm();
    this.started = true;
    this.awaitingOthers = false;
    this.running = true;
    this.lastError = null;
  }

  /** mode 'verify': start-up applied nothing and found migrations pending; whenReady() waits for verified(). */
  awaitingOtherInstance(): void {
    this.started = true;
    this.awaitingOthers = true;
  }

  /** mode 'verify': every migration is applied (by another instance or job); whenReady() resolves. */
  verified(): void {
    this.started = true;
    this.awaitingOthers = false;
    this.everReady = true;
    this.settle.resolve();
  }

  /** How many migrations the history holds, as last read or written. */
  appliedCount(): number {
    return this.history.length;
  }

  /** Records the history as the runner last read or wrote it. */
  setHistory(history: HistoryRecord[]): void {
    this.history = history;
    this.historyRead = true;
    this.historyReadAt = new Date().toISOString();
    this.historyStale = false;
    this.historyError = null;
  }

  /** The history could not be read just now (another process's commit locks readers out): status serves the last one, marked stale. */
  historyLockedOut(): void {
    this.historyStale = true;
    this.historyError = null;
    this.lockedOutAt = Date.now();
  }

  runSucceeded(): void {
    this.running = false;
    this.everReady = true;
    this.settle.resolve();
  }

  /**
   * Whether this instance has been up to date since it started, and its own runs have not failed
   * since: the health indicator then keeps it in rotation while another process migrates or
   * reverts (see `MigrationHealthIndicator`).
   */
  hasBeenReady(): boolean {
    return this.everReady && this.lastError === null;
  }

  runFailed(error: unknown): void {
    this.running = false;
    this.lastError = {
      migration: error instanceof AutoMigrationError ? (error.migration ?? null) : null,
      code: error instanceof AutoMigrationError ? error.code : 'UNEXPECTED_ERROR',
      message: redactPaths(describeCause(error), [this.options.database]),
    };
    this.settle.reject(error);
  }

  private arm(): void {
    this.ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Nobody may be waiting: an unobserved rejection must not crash the process.
    this.ready.catch(() => undefined);
  }

  whenReady(): Promise<void> {
    // Under the command-line tool (its flag: CLI_CONTEXT) nothing runs at bootstrap: the command
    // decides what runs, after the app's hooks. An app hook awaiting whenReady() would wait for a
    // run that never comes (and the command would never start), so it goes on at once, whatever
    // the schema.
    if ((globalThis as Record<symbol, unknown>)[Symbol.for('nestjs-auto-migration.cli')] === true) return Promise.resolve();
    if (!this.started) {
      const timer = setTimeout(() => {
        if (!this.started) {
          this.logger.warn(
            'whenReady() has waited 10 s for migrations that have not started. They start in onApplicationBootstrap, ' +
              'after every onModuleInit: awaiting whenReady() inside onModuleInit waits forever. Move that code to onApplicationBootstrap.',
          );
        }
      }, NOT_STARTED_WARNING_MS);
      timer.unref();
      this.ready.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    }
    return this.ready;
  }

  /**
   * The status as the database is now. While another process holds the migration lock the state
   * is `running`, whatever this process last read; a history locked out by its commit is served
   * as last read (`historyStale`), or, never read, as empty lists (`historyReadAt: null`): a read
   * locked out for a moment is never a failure.
   */
  async getStatus(): Promise<MigrationStatus> {
    // While this process holds the lock its run keeps `history` current, and its migration
    // connection may be inside that run's transaction: re-reading there would show uncommitted work.
    if (!this.lease.holding) await this.refreshHistory();
    const lock = await this.lockStatus();
    const appliedNames = new Set(this.history.map((h) => h.name));
    const known = new Set(this.migrations.map((m) => m.name));
    const pending = this.historyRead
      ? this.migrations.filter((m) => !appliedNames.has(m.name)).map(({ name, version, description }) => ({ name, version, description }))
      : [];
    // Never read: nothing proves the schema current.
    const upToDate = this.historyRead && pending.length === 0;
    const state = this.lastError ? 'failed' : this.running || lock.held ? 'running' : upToDate ? 'up-to-date' : 'pending';
    return {
      state,
      applied: this.history.map(({ name, version, description, checksum, appliedAt, executionTimeMs, archived }) => ({
        name,
        version,
        description,
        checksum,
        appliedAt,
        executionTimeMs,
        archived: archived === true,
      })),
      pending,
      unknown: this.history.filter((h) => !known.has(h.name)).map(({ name, version, appliedAt }) => ({ name, version, appliedAt })),
      lastError: this.lastError ? { ...this.lastError } : null,
      lock,
      lastBackup: this.lastBackup(),
      historyReadAt: this.historyReadAt,
      historyStale: this.historyStale || !this.historyRead,
      historyError: this.historyError,
    };
  }

  private lastBackup(): BackupStatus | null {
    try {
      const latest = this.backup.latest();
      return latest ? { file: latest.file, createdAt: latest.createdAt, sizeBytes: latest.sizeBytes } : null;
    } catch {
      // An unreadable backup folder must not break status; the next backup reports the problem.
      return null;
    }
  }

  private async lockStatus(): Promise<MigrationLockStatus> {
    let holder: LockHolder | null;
    try {
      holder = await this.lease.currentHolder();
    } catch (error) {
      this.logger.warn(`Could not read the migration lock for status: ${redactPaths(describeCause(error), [this.options.database])}`);
      holder = null;
    }
    return {
      held: holder !== null,
      owner: holder?.owner ? { ...holder.owner } : null,
      since: holder?.since ?? null,
      heartbeatAt: holder?.heartbeatAt ?? null,
      current: holder?.current ?? null,
      suspect: holder?.suspect ?? false,
    };
  }

  /**
   * Re-reads the history, so status reflects what other processes applied or reverted. Never
   * waits on SQLite's locks (a status or health probe must not block the event loop on another
   * process's commit): while the database is locked the last copy is served, marked stale; before
   * any read there is no copy, so that first read is retried for a moment, then given up.
   */
  private async refreshHistory(): Promise<void> {
    const read = async () => ((await this.driver.history.isSchemaCurrent()) ? this.driver.history.readHistory() : []);
    try {
      // Patience only for a first read, and not twice in a row (check() has just waited).
      const patient = !this.historyRead && Date.now() - this.lockedOutAt > LOCKED_OUT_PATIENCE_MS;
      const fresh = await readUnlessLockedOut(() => this.driver.session.withoutWaiting(read), patient ? LOCKED_OUT_PATIENCE_MS : 0);
      if (fresh) this.setHistory(fresh);
      else this.historyLockedOut();
    } catch (error) {
      // Not a lock: say what it was, so that nobody waits for a commit that is not happening.
      this.historyStale = true;
      this.historyError = redactPaths(describeCause(error), [this.options.database]);
      this.logger.warn(`Could not re-read the migration history for status: ${this.historyError}`);
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { HistoryRecord } from '../driver/history-store';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import type { BackupStatus, MigrationLockStatus, MigrationStatus, MigrationStatusError } from './migration-status.interface';
import { redactForStatus } from './redact';
import { MigrationLogger } from '../logging/migration-logger';

/** How long `whenReady()` may wait for a run that has not started before we suspect a deadlock. */
const NOT_STARTED_WARNING_MS = 10_000;

/**
 * The state of migrations in this instance, in memory only: the runner writes it, the status
 * reader (`MigrationStatusReader`, which does the reading from the database) adds to it, and the
 * status, health indicator and service read it. Touches no database, lock or file.
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
  private changes = 0;
  private historyWrites = 0;
  private ready!: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };

  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly logger: MigrationLogger,
  ) {
    this.arm();
  }

  /**
   * Changes whenever this state does (a run, a failure, a history written or found unreadable):
   * an answer computed from it is still this state's answer while the revision is the same.
   */
  get revision(): number {
    return this.changes;
  }

  /** Changes whenever `setHistory()` replaces the history, whoever read it. */
  get historyRevision(): number {
    return this.historyWrites;
  }

  /** When a read of the history was last locked out (ms since the epoch; 0: never). */
  get lastLockedOutAt(): number {
    return this.lockedOutAt;
  }

  /** Whether the history was ever read (an empty list before that is not known to be empty). */
  get hasReadHistory(): boolean {
    return this.historyRead;
  }

  /** Whether the history held is the one the last read found, with no failed read since. */
  historyIsFresh(): boolean {
    return this.historyRead && !this.historyStale;
  }

  runStarted(): void {
    // A later run (migrate(), resolve()) gets a fresh promise for whenReady().
    if (this.started && !this.awaitingOthers) this.arm();
    this.started = true;
    this.awaitingOthers = false;
    this.running = true;
    this.lastError = null;
    this.changes++;
  }

  /** mode 'verify': start-up applied nothing and found migrations pending; whenReady() waits for verified(). */
  awaitingOtherInstance(): void {
    this.started = true;
    this.awaitingOthers = true;
    this.changes++;
  }

  /** mode 'verify': every migration is applied (by another instance or job); whenReady() resolves. */
  verified(): void {
    this.started = true;
    this.awaitingOthers = false;
    this.everReady = true;
    this.changes++;
    this.settle.resolve();
  }

  /** How many migrations the history holds, as last read or written. */
  appliedCount(): number {
    return this.history.length;
  }

  /** Records the history as the runner (or the status reader) last read or wrote it. */
  setHistory(history: HistoryRecord[]): void {
    this.history = history;
    this.historyRead = true;
    this.historyReadAt = new Date().toISOString();
    this.historyStale = false;
    this.historyError = null;
    this.historyWrites++;
    this.changes++;
  }

  /** The database has been seen unchanged since the history was read: the lists are current as of now. */
  historyConfirmed(): void {
    this.historyReadAt = new Date().toISOString();
  }

  /** The history could not be read just now (another process's commit locks readers out): status serves the last one, marked stale. */
  historyLockedOut(): void {
    this.historyStale = true;
    this.historyError = null;
    this.lockedOutAt = Date.now();
    this.changes++;
  }

  /** The history could not be read for another reason than a lock: status serves the last one, marked stale, with `reason` (already redacted). */
  historyUnreadable(reason: string): void {
    this.historyStale = true;
    this.historyError = reason;
    this.changes++;
  }

  runSucceeded(): void {
    this.running = false;
    this.everReady = true;
    this.changes++;
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
      message: redactForStatus(describeCause(error), this.options),
    };
    this.changes++;
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
   * The status document from this state and what the reader found of the lock and the backups.
   * While any process holds the migration lock the state is `running`, whatever this process last
   * read; a history never read shows as empty lists (`historyReadAt: null`), never as "nothing applied".
   */
  describe(lock: MigrationLockStatus, lastBackup: BackupStatus | null): MigrationStatus {
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
      // Copies: a caller may change its document, and the reader serves the same answer to several.
      lock: { ...lock, owner: lock.owner ? { ...lock.owner } : null },
      lastBackup: lastBackup ? { ...lastBackup } : null,
      historyReadAt: this.historyReadAt,
      historyStale: this.historyStale || !this.historyRead,
      historyError: this.historyError,
    };
  }
}

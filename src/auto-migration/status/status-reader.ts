import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { BackupService } from '../backup/backup.service';
import type { DatabaseDriver } from '../driver/database-driver';
import { describeCause } from '../errors/auto-migration.error';
import type { MigrationEvent } from '../events/migration-event';
import { MigrationEvents } from '../events/migration-events';
import type { LockHolder } from '../lock/lock-holder';
import { MigrationLease } from '../lock/migration-lease';
import { LOCKED_OUT_PATIENCE_MS, readUnlessLockedOut } from './locked-out-read';
import type { BackupStatus, MigrationLockStatus, MigrationStatus } from './migration-status.interface';
import { MigrationState } from './migration.state';
import { redactForStatus } from './redact';
import { isDefaultInstance } from '../instances/instance-name';
import { MIGRATION_INSTANCE, MigrationInstance } from '../instances/migration-instance';
import { MigrationLogger } from '../logging/migration-logger';

/**
 * How long a lock probe and a backup listing answer status requests, and how often the health
 * indicator of an up-to-date instance asks the database whether anything changed: short enough
 * that another process's change shows within a couple of seconds.
 */
export const STATUS_CACHE_MS = 1_000;

/** What a status refresh found besides the history (which it leaves in `MigrationState`). */
interface Surroundings {
  readonly lock: MigrationLockStatus;
  readonly lastBackup: BackupStatus | null;
}

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

/** The last status that was up to date, and what it was computed from. */
interface UpToDate {
  readonly revision: number;
  readonly generation: number;
  readonly marker: string;
}

/**
 * Reads what the status needs from the database, the lock and the backup folder, as little as
 * the answer allows:
 *
 * - the history only when the driver's change marker moved since it was last read (any process's
 *   commit moves it), or the last read failed or was replaced by the runner's;
 * - the lock and the newest backup at most once per `STATUS_CACHE_MS`, and at once after this
 *   instance took or gave up the lock or wrote a backup, or the database changed;
 * - one refresh at a time: concurrent requests share the one in flight.
 *
 * Never waits on another process's lock (see `readUnlessLockedOut`).
 */
@Injectable()
export class MigrationStatusReader {
  /** The change marker taken right before the history in `MigrationState` was last read (null: unknown). */
  private marker: string | null = null;
  /** `MigrationState.historyRevision` once that read was stored: a later write by the runner is not covered by `marker`. */
  private markedHistory = -1;
  private lock: Cached<MigrationLockStatus> | null = null;
  private backup: Cached<BackupStatus | null> | null = null;
  /** Moves when this instance takes or releases the lock or writes a backup: a refresh begun before that is not shared after it. */
  private generation = 0;
  private inFlight: { readonly generation: number; readonly done: Promise<Surroundings> } | null = null;
  private upToDate: UpToDate | null = null;
  /** When the change marker was last found unmoved (ms since the epoch). */
  private markerSeenAt = 0;

  constructor(
    private readonly state: MigrationState,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly lease: MigrationLease,
    private readonly backups: BackupService,
    @Inject(MIGRATION_INSTANCE) private readonly instance: MigrationInstance,
    events: MigrationEvents,
    private readonly logger: MigrationLogger,
  ) {
    // The stream completes on shutdown, which ends this subscription.
    events.events$.subscribe((event) => this.onEvent(event));
  }

  /**
   * The status as the database is now (see `MigrationStatus`). While this process holds the lock
   * its run keeps the history current; otherwise the history is re-read when it may have changed.
   */
  async getStatus(): Promise<MigrationStatus> {
    let flight = this.inFlight;
    if (flight?.generation !== this.generation) {
      const started = { generation: this.generation, done: this.refresh() };
      const clear = () => {
        if (this.inFlight === started) this.inFlight = null;
      };
      started.done.then(clear, clear);
      this.inFlight = flight = started;
    }
    const { lock, lastBackup } = await flight.done;
    // Built from the state as it is now: a run of this instance that ended meanwhile shows.
    const status = this.state.describe(lock, lastBackup);
    this.upToDate =
      status.state === 'up-to-date' && this.marker !== null && this.markedHistory === this.state.historyRevision
        ? { revision: this.state.revision, generation: flight.generation, marker: this.marker }
        : null;
    // The default instance's document is exactly what it was before instances had names.
    return isDefaultInstance(this.instance.name) ? status : { database: this.instance.name, ...status };
  }

  /**
   * Whether the last status was up to date and nothing has changed since: nothing happened in
   * this instance, and the change marker (asked at most once per `STATUS_CACHE_MS`) has not moved.
   * Reads nothing but the marker: for a health probe of an up-to-date instance.
   */
  async stillUpToDate(): Promise<boolean> {
    const last = this.upToDate;
    if (!last || last.revision !== this.state.revision || last.generation !== this.generation) return false;
    if (Date.now() - this.markerSeenAt < STATUS_CACHE_MS) return true;
    const marker = await this.readMarker();
    if (marker !== last.marker) return false;
    this.markerSeenAt = Date.now();
    return true;
  }

  private onEvent(event: MigrationEvent): void {
    if (event.type === 'lock-acquired' || event.type === 'lock-released') {
      this.lock = null;
      this.generation++;
    } else if (event.type === 'backup-written') {
      this.backup = null;
      this.generation++;
    }
  }

  private async refresh(): Promise<Surroundings> {
    // While this process holds the lock its migration connection may be inside that run's
    // transaction: re-reading there would show uncommitted work.
    if (!this.lease.holding && (await this.refreshHistory())) {
      // Something was committed: who holds the lock, and the newest backup, may have changed with it.
      this.lock = null;
      this.backup = null;
    }
    return { lock: await this.lockStatus(), lastBackup: this.lastBackup() };
  }

  /**
   * Re-reads the history unless the change marker shows the one held is still current; true when
   * it read (the database changed, or it could not tell). Never waits on the database's locks (a status
   * or health probe must not block the event loop on another process's commit): while the
   * database is locked the last copy is served, marked stale; before any read there is no copy,
   * so that first read is retried for a moment, then given up.
   */
  private async refreshHistory(): Promise<boolean> {
    const marker = await this.readMarker();
    if (marker !== null && marker === this.marker && this.markedHistory === this.state.historyRevision && this.state.historyIsFresh()) {
      this.state.historyConfirmed();
      this.markerSeenAt = Date.now();
      return false;
    }
    this.marker = null;
    const read = async () => {
      const history = await this.driver.probe.history();
      return history === 'not-current' ? [] : history;
    };
    try {
      // Patience only for a first read, and not twice in a row (check() has just waited).
      const patient = !this.state.hasReadHistory && Date.now() - this.state.lastLockedOutAt > LOCKED_OUT_PATIENCE_MS;
      const fresh = await readUnlessLockedOut(read, patient ? LOCKED_OUT_PATIENCE_MS : 0);
      if (fresh) {
        this.state.setHistory(fresh);
        this.marker = marker;
        this.markedHistory = this.state.historyRevision;
        this.markerSeenAt = Date.now();
      } else {
        this.state.historyLockedOut();
      }
    } catch (error) {
      // Not a lock: say what it was, so that nobody waits for a commit that is not happening.
      const reason = this.redact(error);
      this.state.historyUnreadable(reason);
      this.logger.warn(`Could not re-read the migration history for status: ${reason}`);
    }
    return true;
  }

  /** The driver's change marker, or null while it cannot be read without waiting (a writer locks readers out, a damaged file). */
  private async readMarker(): Promise<string | null> {
    try {
      return await this.driver.probe.changeMarker();
    } catch {
      // The history read that follows says what is wrong.
      return null;
    }
  }

  private async lockStatus(): Promise<MigrationLockStatus> {
    const cached = this.lock;
    if (cached && Date.now() - cached.at < STATUS_CACHE_MS) return cached.value;
    const at = Date.now();
    const generation = this.generation;
    let holder: LockHolder | null;
    try {
      holder = await this.lease.currentHolder();
    } catch (error) {
      this.logger.warn(`Could not read the migration lock for status: ${this.redact(error)}`);
      holder = null;
    }
    const value: MigrationLockStatus = {
      held: holder !== null,
      owner: holder?.owner ? { ...holder.owner } : null,
      since: holder?.since ?? null,
      heartbeatAt: holder?.heartbeatAt ?? null,
      current: holder?.current ?? null,
      suspect: holder?.suspect ?? false,
      ...(holder?.session && { session: { ...holder.session } }),
    };
    // This instance took or gave up the lock while it was probed: the answer is already old.
    if (generation === this.generation) this.lock = { value, at };
    return value;
  }

  private lastBackup(): BackupStatus | null {
    const cached = this.backup;
    if (cached && Date.now() - cached.at < STATUS_CACHE_MS) return cached.value;
    let value: BackupStatus | null;
    try {
      const latest = this.backups.latest();
      value = latest ? { file: latest.file, createdAt: latest.createdAt, sizeBytes: latest.sizeBytes } : null;
    } catch {
      // An unreadable backup folder must not break status; the next backup reports the problem.
      value = null;
    }
    this.backup = { value, at: Date.now() };
    return value;
  }

  private redact(error: unknown): string {
    return redactForStatus(describeCause(error), this.options);
  }
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { DatabaseDriver } from '../driver/database-driver';
import type { LeaseRecord, LockOwner } from '../driver/lease-store';
import type { MigrationLock } from '../driver/migration-lock';
import { describeCause } from '../errors/auto-migration.error';
import type { LockHolder } from './lock-holder';
import { LockHeldError } from '../errors/lock-held.error';
import { LockLostError } from '../errors/lock-lost.error';
import { LockTimeoutError } from '../errors/lock-timeout.error';
import { MigrationEvents } from '../events/migration-events';
import { RegisteredInterval } from '../schedule/registered-interval';
import { inTransaction, step } from '../runner/database-step';
import { MigrationOperations } from '../runner/migration-operations';
import { MigrationLogger } from '../logging/migration-logger';

const MIN_HEARTBEAT_MS = 50;
/** How long an operation that refuses a held lock (`resolve`, `repair`) tries, so that a status probe's instant hold does not refuse it. */
const FREE_LOCK_GRACE_MS = 1_000;
/** A lock held by nobody we can name is probed again this often, and this many times: it may be another status probe's instant hold. */
const UNNAMED_REPROBE_MS = 15;
const UNNAMED_REPROBES = 3;

/** How an operation holds the lock (see `MigrationLease.hold()`). */
export interface HoldOptions {
  /** Refuse at once (`LockHeldError`) while a live process holds the lock, instead of waiting for it. */
  readonly ifFree?: boolean;
  /** Prepare the module's tables and write the lease row before the work. */
  readonly announce?: boolean;
}

/**
 * The migration lock as a run uses it: the driver's lock (which decides who runs), the
 * visible lease row (which tells everyone else who holds it, since when, and whether it is
 * still beating), and the heartbeat that keeps that row fresh.
 *
 * The heartbeat is written between migrations, never inside one's transaction (it would commit
 * or roll back with it): by the runner (`beat()`, at most once per period, so quick migrations do
 * not pay a write each), and by an interval while the event loop is free and no transaction is
 * open, e.g. while an async `transaction: false` migration awaits. A long transactional
 * migration therefore shows as `suspect` once `staleAfterMs` passes.
 */
@Injectable()
export class MigrationLease implements OnModuleDestroy {
  /** This module instance, as the lease row names it. */
  readonly owner: LockOwner = { host: hostname(), pid: process.pid, instanceId: randomUUID().slice(0, 8) };
  private readonly periodMs: number;
  private readonly heartbeat: RegisteredInterval;
  private lastBeat = 0;
  private held = false;
  private heldSince: string | null = null;
  private announced = false;
  private readonly lock: MigrationLock;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly events: MigrationEvents,
    private readonly operations: MigrationOperations,
    private readonly logger: MigrationLogger,
    // The app's registry when it imports ScheduleModule.forRoot(), so the interval is visible
    // there; a private one otherwise. Either way this class stops it, in onModuleDestroy.
    @Optional() registry?: SchedulerRegistry,
  ) {
    this.heartbeat = new RegisteredInterval(`nestjs-auto-migration:heartbeat:${this.owner.instanceId}`, registry);
    this.periodMs = Math.max(MIN_HEARTBEAT_MS, Math.floor(options.lock.staleAfterMs / 3));
    this.lock = driver.lock;
  }

  /** Whether this module instance holds the lock right now. */
  get holding(): boolean {
    return this.held;
  }

  /**
   * Takes the lock, waiting for another holder as long as `lock.timeoutMs` allows; `false` when
   * `stillNeeded` answered false while waiting (see `MigrationLock.acquire`). Writes nothing:
   * a backup taken next must hold the database exactly as it was.
   */
  async acquire(stillNeeded?: () => Promise<boolean>, timeoutMs = this.options.lock.timeoutMs): Promise<boolean> {
    const started = Date.now();
    let waited = false;
    let acquired: boolean;
    try {
      acquired = await this.lock.acquire({
        timeoutMs,
        owner: this.owner,
        onWait: () => {
          waited = true;
          void this.holderFromLeaseRow().then((holder) => this.events.emit({ type: 'lock-waiting', holder, timeoutMs }));
        },
        stillNeeded,
      });
    } catch (error) {
      if (error instanceof LockTimeoutError) throw new LockTimeoutError(error.waitedMs, await this.holderFromLeaseRow());
      throw error;
    }
    if (!acquired) return false;
    this.held = true;
    this.heldSince = new Date().toISOString();
    this.events.emit({ type: 'lock-acquired', waitedMs: waited ? Date.now() - started : 0 });
    return true;
  }

  /**
   * One of the module's operations under the lock, queued behind this process's other operations
   * (`MigrationOperations.exclusive`): takes the lock as `hold()` says, runs `work`, releases.
   */
  exclusively<T>(how: HoldOptions, work: () => Promise<T>): Promise<T> {
    return this.operations.exclusive(() => this.hold(work, how));
  }

  /**
   * Runs `work` holding the lock, and gives it up afterwards whatever happens. The lock is taken
   * as `acquire()` does, waiting up to `lock.timeoutMs`; with `ifFree`, only if it is free (after
   * a second's grace for another process's status probe), refusing with `LockHeldError`, naming
   * the holder, while a live process holds it: for operations that must not run beside a run in
   * progress (`resolve`, `repair`, `unlock`). With `announce`, the module's tables are prepared
   * and the lease row written first (see `announce()`), for work that writes from its first step.
   */
  async hold<T>(work: () => Promise<T>, { ifFree = false, announce = false }: HoldOptions = {}): Promise<T> {
    await step('take the migration lock', (): Promise<unknown> => (ifFree ? this.acquireIfFree() : this.acquire()));
    let lost = false;
    try {
      if (announce) await step('prepare the module tables', () => this.announce());
      return await work();
    } catch (error) {
      lost = error instanceof LockLostError;
      throw error;
    } finally {
      // A process that lost the lock leaves the lease row to the one that holds it now.
      await this.release({ leaveRow: lost });
    }
  }

  private async acquireIfFree(): Promise<void> {
    try {
      await this.acquire(undefined, Math.min(FREE_LOCK_GRACE_MS, this.options.lock.timeoutMs));
    } catch (error) {
      if (error instanceof LockTimeoutError) throw new LockHeldError((await this.currentHolder()) ?? error.holder);
      throw error;
    }
  }

  /** While holding the lock: creates or upgrades the module's tables, writes the lease row, starts the heartbeat. */
  async announce(): Promise<void> {
    // One transaction: on a fresh database that is one synced commit fewer before the first migration.
    await inTransaction(this.driver.session, async () => {
      await this.driver.history.ensureSchema();
      await this.driver.lease.writeLease(this.owner);
    });
    this.announced = true;
    this.lastBeat = Date.now();
    this.startHeartbeat();
  }

  /** Between migrations: refreshes the heartbeat if a period has passed since the last one. */
  async beat(): Promise<void> {
    if (this.announced && Date.now() - this.lastBeat >= this.periodMs) await this.writeHeartbeat();
  }

  /** Names the `transaction: false` migration about to run (or clears it), so others can see it. */
  async setCurrent(name: string | null): Promise<void> {
    await this.driver.lease.heartbeat(name);
    this.lastBeat = Date.now();
  }

  /**
   * Clears the lease row and gives the lock up. Idempotent: shutdown may call it mid-run.
   * `leaveRow` for a damaged file, which nothing may write to: the next holder clears the row.
   */
  async release({ leaveRow = false }: { leaveRow?: boolean } = {}): Promise<void> {
    if (!this.held) return;
    this.held = false;
    this.stopHeartbeat();
    if (!leaveRow) await this.clearRow();
    this.announced = false;
    this.heldSince = null;
    await this.lock.release();
    this.events.emit({ type: 'lock-released' });
  }

  private async clearRow(): Promise<void> {
    try {
      // Ours to clear; or, while we still hold the lock, a row left by a holder that died.
      if (this.announced || (await this.driver.probe.lease())?.inProgress) await this.driver.lease.writeLease(null);
    } catch (error) {
      // The lock is what matters, and release() gives it up whatever happens here.
      this.logger.warn(`Could not clear the lease row: ${describeCause(error)}`);
    }
  }

  /**
   * Who holds the lock right now, or null when nobody does. Probes the lock; never waits on the
   * database. The name comes from the lock itself (`MigrationLock.holder()`: SQLite's holder
   * file, readable while a writer locks the database out; PostgreSQL's lock session), the
   * heartbeat and the running migration from the lease row when it is readable and written by
   * that holder. A lock nobody can be named for is probed again a few times: another
   * process's status probe holds it for an instant.
   */
  async currentHolder(): Promise<LockHolder | null> {
    for (let probe = 0; ; probe++) {
      if (!(await this.lock.isHeld())) return null;
      const named = this.held && this.heldSince ? { owner: this.owner, since: this.heldSince } : await this.lock.holder();
      const row = await this.holderFromLeaseRow();
      if (named) {
        const holder = sameOwner(row.owner, named.owner)
          ? row
          : { ...EMPTY_HOLDER, owner: named.owner, since: named.since, heldForMs: Date.now() - Date.parse(named.since) };
        return named.session ? { ...holder, session: named.session } : holder;
      }
      // A holder the lock cannot name (one of an earlier release): the lease row is all there is.
      if (row.owner || probe >= UNNAMED_REPROBES) return row;
      await sleep(UNNAMED_REPROBE_MS);
    }
  }

  onModuleDestroy(): void {
    this.stopHeartbeat();
  }

  /** What the lease row says, whether or not its holder still holds the lock. */
  rowHolder(): Promise<LockHolder> {
    return this.holderFromLeaseRow();
  }

  private async holderFromLeaseRow(): Promise<LockHolder> {
    let lease: LeaseRecord | null;
    try {
      // Never wait on the holder's commit: unreadable for a moment means unnamed for a moment.
      lease = await this.driver.probe.lease();
    } catch {
      lease = null;
    }
    if (!lease?.inProgress) return EMPTY_HOLDER;
    const now = Date.now();
    const heartbeat = lease.heartbeatAt ? Date.parse(lease.heartbeatAt) : null;
    return {
      owner: lease.owner,
      heldForMs: lease.startedAt ? now - Date.parse(lease.startedAt) : null,
      since: lease.startedAt,
      heartbeatAt: lease.heartbeatAt,
      current: lease.current,
      suspect: heartbeat !== null && now - heartbeat > this.options.lock.staleAfterMs,
    };
  }

  private startHeartbeat(): void {
    this.heartbeat.start(() => {
      // Inside a migration's transaction a write on its connection would commit or roll back with
      // it: leave it to beat() after the commit, unless the lease writes on a connection of its own.
      if (this.announced && (this.driver.lease.beatsOnItsOwn || !this.driver.session.inTransaction())) void this.writeHeartbeat();
    }, this.periodMs);
  }

  private stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  private async writeHeartbeat(): Promise<void> {
    try {
      await this.driver.lease.heartbeat();
      this.lastBeat = Date.now();
    } catch (error) {
      this.logger.warn(`Could not write the lease heartbeat: ${describeCause(error)}`);
    }
  }
}

const EMPTY_HOLDER: LockHolder = { owner: null, heldForMs: null, since: null, heartbeatAt: null, current: null, suspect: false };

function sameOwner(a: LockOwner | null, b: LockOwner): boolean {
  return a !== null && a.host === b.host && a.pid === b.pid && a.instanceId === b.instanceId;
}

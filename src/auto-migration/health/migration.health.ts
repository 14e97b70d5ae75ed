import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MigrationLease } from '../lock/migration-lease';
import type { MigrationStatus } from '../status/migration-status.interface';
import { MigrationState } from '../status/migration.state';
import { MigrationStatusReader } from '../status/status-reader';
import { InvalidArgumentError } from '../errors/invalid-argument.error';
import { DEFAULT_INSTANCE } from '../instances/instance-name';
import { MigrationInstances } from '../instances/migration-instances';
import { MigrationLogger } from '../logging/migration-logger';

/** Which instance `isHealthy()` reports on. */
export interface MigrationHealthOptions {
  /** The instance's `name` (`forRoot({ name })`). @default 'default' (the import without a name) */
  database?: string;
}

/**
 * Terminus health indicator for readiness: keeps an instance out of rotation until its schema is
 * current, without taking every replica out at once when someone else changes the schema later.
 *
 * - `up` when every migration is applied.
 * - `down` while this instance has not become ready yet (its start: migrations pending, running,
 *   or awaited in `mode: 'verify'`), and whenever this instance's own run failed (`failed`).
 * - Once this instance has been up to date, a later change (a run in progress, state `running`;
 *   a revert by an operator's `down`, state `pending`) keeps it `up`, with the true state in the
 *   details (`{ state, reason, pending }`; `reason` is `'another process is migrating'`,
 *   `'this instance is migrating'` or `'changed since this instance became ready'`) and one
 *   warning in the log. Taking it out of rotation would take every replica out together: an
 *   outage decided by whoever ran `down`. The status document always tells the truth.
 * - Once up to date, a probe reads nothing but the database's change marker, at most once a
 *   second (`STATUS_CACHE_MS`), and the whole status only when that marker moved or this instance
 *   did something (a run, a revert, the lock taken or given up).
 *
 * In an app with several databases, one indicator reports on any of them:
 * `isHealthy('analytics-migrations', { database: 'analytics' })`.
 *
 * @example
 * ```ts
 * @Get('health') @HealthCheck()
 * check() {
 *   return this.health.check([
 *     () => this.migrations.isHealthy(),
 *     () => this.migrations.isHealthy('analytics-migrations', { database: 'analytics' }),
 *   ]);
 * }
 * ```
 */
@Injectable()
export class MigrationHealthIndicator {
  /** The state last warned about, so that a change by another process is logged once. */
  private warnedState: string | null = null;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly reader: MigrationStatusReader,
    private readonly state: MigrationState,
    private readonly lease: MigrationLease,
    private readonly instances: MigrationInstances,
    private readonly logger: MigrationLogger,
  ) {}

  /**
   * The readiness of an instance's schema, for `HealthCheckService.check()`. A schema that is not
   * ready is not an exception here: the result says `down`, and Terminus then answers the whole
   * health check with 503 Service Unavailable (body `{ status: 'error', error: { [key]: ... } }`),
   * which takes the instance out of rotation. The details, as described above:
   *
   * - `up` with `{ state: 'up-to-date', applied }` (how many migrations are applied);
   * - `down` with `{ state, pending, error? }` (`pending`: names not applied yet; `error`: the
   *   status's `lastError`) until this instance has been ready, and whenever its own run failed;
   * - `up` with `{ state, reason, pending, holder? }` once this instance has been ready and the
   *   schema changed since (`holder`: `host/pid` of the lock holder, while one is known).
   *
   * @param key Where the result goes in the health check's response; give each instance its own
   *   key when one check reports several. Default `'migrations'`.
   * @param options `database`: the instance to report on (default: the default instance).
   * @returns Terminus's result for `key`: `{ [key]: { status: 'up' | 'down', ...details } }`.
   * @throws InvalidArgumentError (the promise rejects) when `options.database` names no imported instance.
   */
  async isHealthy<const Key extends string = 'migrations'>(
    key: Key = 'migrations' as Key,
    options: MigrationHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const database = options.database ?? DEFAULT_INSTANCE;
    if (database !== this.instances.own.name) return this.indicatorOf(database).isHealthy(key, { database });
    const session = this.indicator.check(key);
    if (await this.reader.stillUpToDate()) {
      this.warnedState = null;
      return session.up({ state: 'up-to-date', applied: this.state.appliedCount() });
    }
    const status = await this.reader.getStatus();
    if (status.state === 'up-to-date') {
      this.warnedState = null;
      return session.up({ state: status.state, applied: status.applied.length });
    }
    const pending = status.pending.map((m) => m.name);
    if (status.state !== 'failed' && this.state.hasBeenReady()) {
      const reason = this.reasonFor(status);
      this.warnOnce(status, reason, pending);
      return session.up({ state: status.state, reason, pending, ...(status.lock.owner ? { holder: holderName(status) } : {}) });
    }
    return session.down({
      state: status.state,
      pending,
      ...(status.lastError ? { error: status.lastError } : {}),
    });
  }

  /** The indicator of another instance: every import exports one, and a caller gets whichever Nest finds first. */
  private indicatorOf(database: unknown): MigrationHealthIndicator {
    const instance = typeof database === 'string' ? this.instances.find(database) : null;
    if (!instance?.moduleRef) {
      const names = this.instances.names().map((name) => `"${name}"`);
      throw new InvalidArgumentError(
        'MigrationHealthIndicator.isHealthy()',
        'options.database',
        `the name of an imported instance (${names.join(', ')})`,
        database,
      );
    }
    return instance.moduleRef.get(MigrationHealthIndicator, { strict: true });
  }

  /**
   * Who changed what, as far as this process can tell: a run names its lock holder; a revert has
   * left no trace of who ran it, so it is not attributed (this instance's own `revert()` is one).
   */
  private reasonFor(status: MigrationStatus): string {
    if (status.state !== 'running') return 'changed since this instance became ready';
    return status.lock.owner?.instanceId === this.lease.owner.instanceId ? 'this instance is migrating' : 'another process is migrating';
  }

  private warnOnce(status: MigrationStatus, reason: string, pending: string[]): void {
    if (this.warnedState === status.state) return;
    this.warnedState = status.state;
    const what =
      status.state === 'running'
        ? `${reason}${status.lock.owner ? ` (${holderName(status)})` : ''}`
        : `the migration history changed since this instance became ready (not applied now: ${pending.join(', ') || 'none'})`;
    this.logger.warn(`Migration state "${status.state}": ${what}. This instance was up to date and stays in rotation (health up); see GET /migrations/status`);
  }
}

function holderName(status: MigrationStatus): string {
  return `${status.lock.owner!.host}/${status.lock.owner!.pid}`;
}

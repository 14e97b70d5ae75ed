import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LOG_CONTEXT } from '../auto-migration.constants';
import { AutoMigrationService } from '../auto-migration.service';
import type { MigrationStatus } from '../status/migration-status.interface';
import { MigrationState } from '../status/migration.state';

/**
 * Terminus health indicator for readiness: keeps an instance out of rotation until its schema is
 * current, without taking every replica out at once when someone else changes the schema later.
 *
 * - `up` when every migration is applied.
 * - `down` while this instance has not become ready yet (its start: migrations pending, running,
 *   or awaited in `mode: 'verify'`), and whenever this instance's own run failed (`failed`).
 * - Once this instance has been up to date, a change by another process (a run in progress,
 *   state `running`; a revert by an operator's `down`, state `pending`) keeps it `up`, with the
 *   true state in the details (`{ state, reason: 'changed by another process', pending }`) and
 *   one warning in the log. Taking it out of rotation would take every replica out together: an
 *   outage decided by whoever ran `down`. The status document always tells the truth.
 *
 * @example
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.migrations.isHealthy()]); }
 * ```
 */
@Injectable()
export class MigrationHealthIndicator {
  private readonly logger = new Logger(LOG_CONTEXT);
  /** The state last warned about, so that a change by another process is logged once. */
  private warnedState: string | null = null;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly migrations: AutoMigrationService,
    private readonly state: MigrationState,
  ) {}

  async isHealthy<const Key extends string = 'migrations'>(key: Key = 'migrations' as Key): Promise<HealthIndicatorResult<Key>> {
    const status = await this.migrations.getStatus();
    const session = this.indicator.check(key);
    if (status.state === 'up-to-date') {
      this.warnedState = null;
      return session.up({ state: status.state, applied: status.applied.length });
    }
    const pending = status.pending.map((m) => m.name);
    if (status.state !== 'failed' && this.state.hasBeenReady()) {
      this.warnOnce(status, pending);
      return session.up({ state: status.state, reason: 'changed by another process', pending, ...(status.lock.owner ? { holder: holderName(status) } : {}) });
    }
    return session.down({
      state: status.state,
      pending,
      ...(status.lastError ? { error: status.lastError } : {}),
    });
  }

  private warnOnce(status: MigrationStatus, pending: string[]): void {
    if (this.warnedState === status.state) return;
    this.warnedState = status.state;
    const what =
      status.state === 'running'
        ? `another process is migrating the database${status.lock.owner ? ` (${holderName(status)})` : ''}`
        : `another process changed the migration history (not applied now: ${pending.join(', ') || 'none'})`;
    this.logger.warn(`Migration state "${status.state}": ${what}. This instance was up to date and stays in rotation (health up); see GET /migrations/status`);
  }
}

function holderName(status: MigrationStatus): string {
  return `${status.lock.owner!.host}/${status.lock.owner!.pid}`;
}

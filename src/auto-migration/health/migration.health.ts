import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AutoMigrationService } from '../auto-migration.service';

/**
 * Terminus health indicator: `up` only when every migration is applied, `down` while migrations
 * are pending, running or failed, so a readiness check keeps the instance out of rotation
 * until its schema is current.
 *
 * @example
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.migrations.isHealthy()]); }
 * ```
 */
@Injectable()
export class MigrationHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly migrations: AutoMigrationService,
  ) {}

  async isHealthy<const Key extends string = 'migrations'>(key: Key = 'migrations' as Key): Promise<HealthIndicatorResult<Key>> {
    const status = await this.migrations.getStatus();
    const session = this.indicator.check(key);
    if (status.state === 'up-to-date') return session.up({ state: status.state, applied: status.applied.length });
    return session.down({
      state: status.state,
      pending: status.pending.map((m) => m.name),
      ...(status.lastError ? { error: status.lastError } : {}),
    });
  }
}

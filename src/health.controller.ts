import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { MigrationHealthIndicator } from 'nestjs-auto-migration';

/** Readiness: 503 until every migration is applied. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly migrations: MigrationHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.migrations.isHealthy()]);
  }
}

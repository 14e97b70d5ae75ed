import { type CanActivate, Controller, Get, Inject, type InjectionToken, type Type, UseGuards } from '@nestjs/common';
import { AutoMigrationService } from '../auto-migration.service';
import type { MigrationStatus } from './migration-status.interface';

/**
 * Builds the status controller for one module definition: its path and guards are options,
 * and Nest reads both from class decorators, so each definition gets its own class.
 */
export function createStatusController(path: string, guards: (Type<CanActivate> | CanActivate)[], service: InjectionToken): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  class MigrationStatusController {
    // The public token (`AutoMigrationService` for the default import), so that a test's
    // overrideProvider() of it reaches the route too.
    constructor(@Inject(service) private readonly migrations: AutoMigrationService) {}

    @Get()
    getStatus(): Promise<MigrationStatus> {
      return this.migrations.getStatus();
    }
  }
  return MigrationStatusController;
}

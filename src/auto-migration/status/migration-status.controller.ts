import { type CanActivate, Controller, Get, Inject, type Type, UseGuards } from '@nestjs/common';
import { INSTANCE_SERVICE } from '../auto-migration.constants';
import { AutoMigrationService } from '../auto-migration.service';
import type { MigrationStatus } from './migration-status.interface';

/**
 * Builds the status controller for one module definition: its path and guards are options,
 * and Nest reads both from class decorators, so each definition gets its own class.
 */
export function createStatusController(path: string, guards: (Type<CanActivate> | CanActivate)[]): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  class MigrationStatusController {
    constructor(@Inject(INSTANCE_SERVICE) private readonly migrations: AutoMigrationService) {}

    @Get()
    getStatus(): Promise<MigrationStatus> {
      return this.migrations.getStatus();
    }
  }
  return MigrationStatusController;
}

export { AutoMigrationModule } from './auto-migration.module';
export type {
  AutoMigrationModuleOptions,
  BackupOptions,
  LockOptions,
  SqlitePragmas,
  StatusControllerOptions,
} from './auto-migration.options';
export { AutoMigrationService } from './auto-migration.service';
export { InjectMigrationDatabase } from './database/inject-migration-database.decorator';
export * from './errors';
export { MigrationHealthIndicator } from './health/migration.health';
export { Migration } from './migration.decorator';
export type { MigrationInterface, MigrationOptions } from './migration.interface';
export type {
  AppliedMigrationStatus,
  MigrationRunState,
  MigrationStatus,
  MigrationStatusError,
  PendingMigrationStatus,
} from './status/migration-status.interface';

export { AutoMigrationModule } from './auto-migration.module';
export type {
  AnyAutoMigrationModuleOptions,
  ArchiveOptions,
  AutoMigrationModuleOptions,
  BackupHookContext,
  BackupHookOptions,
  BackupHookResult,
  BackupOptions,
  CommonAutoMigrationOptions,
  DdlOptions,
  LockOptions,
  PgPoolLike,
  PostgresAutoMigrationModuleOptions,
  PostgresOptions,
  SafetyMode,
  SafetyOptions,
  SqlitePragmas,
  StatusControllerOptions,
} from './auto-migration.options';
export { AutoMigrationService } from './auto-migration.service';
export { getMigrationDatabaseToken, InjectMigrationDatabase } from './database/inject-migration-database.decorator';
export { getAutoMigrationServiceToken } from './instances/instance-tokens';
export { InjectAutoMigrationService } from './instances/inject-auto-migration-service.decorator';
export { DEFAULT_INSTANCE } from './instances/instance-name';
export type { AutoMigrationModuleExtras } from './auto-migration.module-definition';
export type { MigrationHealthOptions } from './health/migration.health';
export type { RepairResult } from './runner/repair.service';
export type { RevertOptions, RevertResult } from './runner/revert.service';
export type { BaselineResult } from './runner/baseline.service';
export type { DryRunReport } from './runner/dry-run.service';
export type { Finding, SafetyReport } from './safety/finding';
export { RULE_IDS, RULES, type FindingLevel, type RuleDescription, type RuleId } from './safety/rules';
export type { CopyRunMigration as DryRunMigration, CopyRunStatement as DryRunStatement } from './runner/copy-run';
export type { UnlockResult } from './lock/unlock.service';
export type { ArchiveResult } from './history/history-archive.service';
export * from './errors';
export type { LockHolder } from './lock/lock-holder';
export type {
  BackupWrittenEvent,
  LockAcquiredEvent,
  LockReleasedEvent,
  LockWaitingEvent,
  MigrationAppliedEvent,
  MigrationEvent,
  MigrationEventBase,
  MigrationEventType,
  MigrationFailedEvent,
  MigrationStartedEvent,
  RunFinishedEvent,
  RunStartedEvent,
} from './events/migration-event';
export { MigrationHealthIndicator } from './health/migration.health';
export { Migration } from './migration.decorator';
export type { MigrationInterface, MigrationOptions } from './migration.interface';
export type {
  AppliedMigrationStatus,
  BackupStatus,
  MigrationLockStatus,
  MigrationRunState,
  MigrationStatus,
  MigrationStatusError,
  PendingMigrationStatus,
  UnknownMigrationStatus,
} from './status/migration-status.interface';

/**
 * The API reference of nestjs-auto-migration, generated from the code's documentation comments.
 * The guides are in the package's `docs/` folder (start with its README); this lists every export.
 *
 * Start here:
 * - {@link AutoMigrationModule}: `forRoot()` / `forRootAsync()` and their options
 *   ({@link AutoMigrationModuleOptions} for SQLite, {@link PostgresAutoMigrationModuleOptions}).
 * - {@link Migration} and {@link MigrationInterface}: writing a migration class.
 * - {@link AutoMigrationService}: status, `whenReady()`, `events$`, dry runs, lint, revert, restore.
 * - {@link MigrationHealthIndicator}: the Terminus readiness check.
 * - {@link MigrationStatus}: the document `GET /migrations/status` serves.
 * - {@link MigrationEvent}: what `events$` emits.
 * - {@link AutoMigrationError}: the base of every error the module throws, with its stable
 *   {@link AutoMigrationErrorCode | code}; one class per code below.
 *
 * @packageDocumentation
 */
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

import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DISCOVERED_MIGRATIONS, INSTANCE_DATABASE, INSTANCE_SERVICE, MIGRATION_DRIVER, RESOLVED_OPTIONS } from './auto-migration.constants';
import {
  AUTO_MIGRATION_ASYNC_OPTIONS_TYPE,
  AUTO_MIGRATION_MODULE_OPTIONS,
  AUTO_MIGRATION_OPTIONS_TYPE,
  ConfigurableAutoMigrationModule,
} from './auto-migration.module-definition';
import type { ResolvedAutoMigrationOptions } from './auto-migration.options';
import { AutoMigrationService } from './auto-migration.service';
import { BackupService } from './backup/backup.service';
import { RestoreService } from './backup/restore.service';
import { InvalidOptionsError } from './errors/invalid-options.error';
import { MigrationExplorer } from './discovery/migration.explorer';
import { createDriver } from './driver/create-driver';
import type { DatabaseDriver } from './driver/database-driver';
import { MigrationEventLogger } from './events/migration-event.logger';
import { MigrationEvents } from './events/migration-events';
import { MigrationHealthIndicator } from './health/migration.health';
import { HistoryArchiveService } from './history/history-archive.service';
import { MigrationLease } from './lock/migration-lease';
import { resolveOptions } from './options/resolve-options';
import { MigrationOperations } from './runner/migration-operations';
import { MigrationShutdown } from './runner/migration-shutdown';
import { MigrationRunner } from './runner/migration.runner';
import { MigrationPlan } from './runner/migration-plan';
import { MigrationApplier } from './runner/migration-applier';
import { ResolveService } from './runner/resolve.service';
import { RepairService } from './runner/repair.service';
import { RevertService } from './runner/revert.service';
import { BaselineService } from './runner/baseline.service';
import { DryRunService } from './runner/dry-run.service';
import { SafetyAnalysisService } from './safety/safety-analysis.service';
import { UnlockService } from './lock/unlock.service';
import { ManualBackupService } from './backup/manual-backup.service';
import { MigrationState } from './status/migration.state';
import { MigrationStatusReader } from './status/status-reader';
import { MigrationStartup } from './start/migration-startup';
import { MIGRATION_INSTANCE, MigrationInstance } from './instances/migration-instance';
import { MigrationInstances } from './instances/migration-instances';
import { MigrationLogger } from './logging/migration-logger';

/**
 * Applies the app's pending `@Migration()` classes to its database at bootstrap, exactly
 * once across processes. Import it once per database, with `forRoot()` or `forRootAsync()`: once
 * without a name (the default instance) and once per other database with its `name`; it is global.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [AutoMigrationModule.forRoot({ database: 'data/app.db' })],
 *   providers: [CreateUsers],
 * })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_OPTIONS,
      useFactory: (raw: unknown, instance: MigrationInstance) => {
        try {
          const options = resolveOptions(raw);
          instance.optionsResolved(options);
          return options;
        } catch (error) {
          instance.optionsRefused(error);
          throw error;
        }
      },
      inject: [AUTO_MIGRATION_MODULE_OPTIONS, MIGRATION_INSTANCE],
    },
    MigrationInstances,
    MigrationLogger,
    MigrationExplorer,
    {
      provide: DISCOVERED_MIGRATIONS,
      useFactory: (explorer: MigrationExplorer, instance: MigrationInstance) => instance.discover(() => explorer.explore()),
      inject: [MigrationExplorer, MIGRATION_INSTANCE],
    },
    {
      provide: MIGRATION_DRIVER,
      // Depending on the discovered migrations makes Nest validate them first: a bad definition
      // fails start-up before the database is opened, so a file stays byte-identical. Likewise
      // two imports of one name or one database are refused before either opens it.
      useFactory: async (
        options: ResolvedAutoMigrationOptions,
        _validatedFirst: unknown,
        instances: MigrationInstances,
        logger: MigrationLogger,
      ): Promise<DatabaseDriver> => {
        await instances.assertNoConflicts();
        return createDriver(options, logger);
      },
      inject: [RESOLVED_OPTIONS, DISCOVERED_MIGRATIONS, MigrationInstances, MigrationLogger],
    },
    {
      provide: INSTANCE_DATABASE,
      useFactory: (driver: DatabaseDriver) => driver.appHandle,
      inject: [MIGRATION_DRIVER],
    },
    MigrationEvents,
    MigrationEventLogger,
    MigrationLease,
    MigrationState,
    MigrationStatusReader,
    BackupService,
    RestoreService,
    MigrationOperations,
    MigrationPlan,
    MigrationApplier,
    MigrationRunner,
    ResolveService,
    RepairService,
    RevertService,
    BaselineService,
    DryRunService,
    SafetyAnalysisService,
    UnlockService,
    ManualBackupService,
    HistoryArchiveService,
    MigrationShutdown,
    MigrationStartup,
    { provide: INSTANCE_SERVICE, useClass: AutoMigrationService },
    HealthIndicatorService,
    MigrationHealthIndicator,
  ],
})
export class AutoMigrationModule extends ConfigurableAutoMigrationModule {
  /**
   * Registers the module with its options given directly.
   *
   * @example
   * ```ts
   * AutoMigrationModule.forRoot({ database: 'data/app.db' })
   * AutoMigrationModule.forRoot({ name: 'analytics', postgres: { connectionString: process.env.ANALYTICS_URL } })
   * ```
   * @param options `{ database }` (SQLite, see `AutoMigrationModuleOptions`) or `{ postgres }` (PostgreSQL, see `PostgresAutoMigrationModuleOptions`), with every option and default.
   */
  static override forRoot(options: typeof AUTO_MIGRATION_OPTIONS_TYPE): DynamicModule {
    // Plain-JavaScript callers can pass nothing; Nest's builder would fail with a bare TypeError.
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError(['options: AutoMigrationModule.forRoot() needs an options object with "database" (SQLite) or "postgres" (PostgreSQL)']);
    }
    return super.forRoot(options);
  }

  /**
   * Registers the module with options from a factory (`useFactory`, `inject`, `imports`), for
   * configuration that comes from other providers. `name` and `statusController` go beside
   * `useFactory`. The other imports do not wait for a factory that injects providers (it may
   * read another instance's database, e.g. settings kept in the main one): clashes with its
   * options (one file, one schema) are refused when it resolves, before its own database opens.
   *
   * @example
   * ```ts
   * AutoMigrationModule.forRootAsync({
   *   name: 'analytics',
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ database: config.getOrThrow('ANALYTICS_DB') }),
   * })
   * ```
   */
  static override forRootAsync(options: typeof AUTO_MIGRATION_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}

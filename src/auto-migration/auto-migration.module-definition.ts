import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { DEFAULT_STATUS_PATH, INSTANCE_DATABASE, INSTANCE_SERVICE, MIGRATION_DATABASE } from './auto-migration.constants';
import type { AnyAutoMigrationModuleOptions, StatusControllerOptions } from './auto-migration.options';
import { AutoMigrationService } from './auto-migration.service';
import { MigrationHealthIndicator } from './health/migration.health';
import { instanceNameOf, isDefaultInstance } from './instances/instance-name';
import { getAutoMigrationServiceToken, getMigrationDatabaseToken } from './instances/instance-tokens';
import { ModulesContainer } from '@nestjs/core';
import { instanceFor, MIGRATION_IMPORT, MIGRATION_INSTANCE, MigrationImport } from './instances/migration-instance';
import { resolveStatusController } from './options/resolve-options';
import { createStatusController } from './status/migration-status.controller';

/** `Omit` over each member of a union: a plain `Omit` keeps only the keys every member shares. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The options that shape the module itself rather than its run: read by `forRoot()` and given beside `useFactory` to `forRootAsync()`. */
export interface AutoMigrationModuleExtras {
  /**
   * The instance's name, for an app with several databases: one import per name, beside the
   * unnamed (default) one. `@Migration({ database: name })` assigns migrations to it,
   * `@InjectMigrationDatabase(name)` and `@InjectAutoMigrationService(name)` reach it.
   * @default 'default'
   */
  name?: string;
  /**
   * The status route (`GET /migrations/status`; a named instance's at `GET /migrations/status/<name>`),
   * its path and guards, or `false` for none.
   */
  statusController?: false | StatusControllerOptions;
}

/**
 * `forRoot()` / `forRootAsync()`. `name` and `statusController` are "extras": the module's tokens
 * and routes must be known when it is defined, before an async factory could run, so they are
 * read from the `forRoot()` options or given to `forRootAsync()` beside `useFactory`.
 */
export const {
  ConfigurableModuleClass: ConfigurableAutoMigrationModule,
  MODULE_OPTIONS_TOKEN: AUTO_MIGRATION_MODULE_OPTIONS,
  OPTIONS_TYPE: AUTO_MIGRATION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUTO_MIGRATION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DistributiveOmit<AnyAutoMigrationModuleOptions, 'statusController'>>({ moduleName: 'AutoMigration' })
  .setClassMethodName('forRoot')
  .setExtras<AutoMigrationModuleExtras>({ name: undefined, statusController: undefined }, (definition, extras) => {
    const name = instanceNameOf(extras.name);
    const status = resolveStatusController(extras.statusController, isDefaultInstance(name) ? DEFAULT_STATUS_PATH : `${DEFAULT_STATUS_PATH}/${name}`);
    return {
      ...definition,
      // Global, so that its bootstrap hook (the migration run) comes before the app modules' hooks.
      global: true,
      providers: [
        ...(definition.providers ?? []),
        { provide: MIGRATION_IMPORT, useValue: new MigrationImport(name, optionsNeedProviders(definition.providers)) },
        // One per application: the module (and this value) may be shared by many (a test suite builds many).
        { provide: MIGRATION_INSTANCE, useFactory: instanceFor, inject: [ModulesContainer, MIGRATION_IMPORT] },
        ...publicTokens(name),
      ],
      // The default instance answers to the plain class tokens; a named one only to its name's
      // tokens, so that a plain `AutoMigrationService` parameter never gets a named instance's.
      // Every import exports the health indicator: each one finds the instance it is asked about.
      exports: isDefaultInstance(name)
        ? [MIGRATION_DATABASE, AutoMigrationService, MigrationHealthIndicator]
        : [getMigrationDatabaseToken(name), getAutoMigrationServiceToken(name), MigrationHealthIndicator],
      controllers: status ? [createStatusController(status.path, status.guards, getAutoMigrationServiceToken(name))] : [],
    };
  })
  .build();

/** Whether the options provider (`forRootAsync()`'s) injects anything: `inject`, `useClass` and `useExisting` all do. */
function optionsNeedProviders(providers: Provider[] | undefined): boolean {
  const options = providers?.find((provider) => typeof provider === 'object' && provider.provide === AUTO_MIGRATION_MODULE_OPTIONS);
  return typeof options === 'object' && 'inject' in options && (options.inject?.length ?? 0) > 0;
}

/** The tokens users inject, as aliases of the import's own (see `INSTANCE_SERVICE`): the class and symbol for the default import, its name's for a named one. */
function publicTokens(name: string): Provider[] {
  return [
    { provide: getMigrationDatabaseToken(name), useExisting: INSTANCE_DATABASE },
    { provide: getAutoMigrationServiceToken(name), useExisting: INSTANCE_SERVICE },
  ];
}

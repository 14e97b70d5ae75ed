import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AnyAutoMigrationModuleOptions, StatusControllerOptions } from './auto-migration.options';
import { resolveStatusController } from './options/resolve-options';
import { createStatusController } from './status/migration-status.controller';

/** `Omit` over each member of a union: a plain `Omit` keeps only the keys every member shares. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * `forRoot()` / `forRootAsync()`. `statusController` is an "extra": routes must be known when the
 * module is defined, before an async factory could run, so it is read from the `forRoot()`
 * options or given to `forRootAsync()` beside `useFactory`.
 */
export const {
  ConfigurableModuleClass: ConfigurableAutoMigrationModule,
  MODULE_OPTIONS_TOKEN: AUTO_MIGRATION_MODULE_OPTIONS,
  OPTIONS_TYPE: AUTO_MIGRATION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUTO_MIGRATION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DistributiveOmit<AnyAutoMigrationModuleOptions, 'statusController'>>({ moduleName: 'AutoMigration' })
  .setClassMethodName('forRoot')
  .setExtras<{ statusController?: false | StatusControllerOptions }>({ statusController: undefined }, (definition, extras) => {
    const status = resolveStatusController(extras.statusController);
    return {
      ...definition,
      // Global, so that its bootstrap hook (the migration run) comes before the app modules' hooks.
      global: true,
      controllers: status ? [createStatusController(status.path, status.guards)] : [],
    };
  })
  .build();

import { resolve } from 'node:path';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { MIGRATION_METADATA } from '../auto-migration.constants';
import { AUTO_MIGRATION_MODULE_OPTIONS } from '../auto-migration.module-definition';
import { describeCause } from '../errors/auto-migration.error';
import { DEFAULT_INSTANCE } from '../instances/instance-name';
import { MIGRATION_IMPORT, MigrationImport } from '../instances/migration-instance';
import { loadAppModule } from './app-context';
import { CliError } from './cli-error';
import type { ModuleTarget } from './load-module';

/** An `AutoMigrationModule` import, as read without starting it. */
export interface ModuleInstance {
  /** Its name: `'default'` for the import without one. */
  readonly name: string;
  /**
   * The absolute `migrationsDir` of its `forRoot()`, or null when it is not set or given by
   * `forRootAsync()` (a factory, which is not run here).
   */
  readonly migrationsDir: string | null;
  /** Its database (`postgres` or `database` in `forRoot()`), or null when a factory gives it (`forRootAsync()`). */
  readonly dialect: 'sqlite' | 'postgres' | null;
}

/** The migrations a module registers, as read without starting it. */
export interface ModuleMigrations {
  /** The `AutoMigrationModule` imports, in import order; none in a module of migrations only. */
  readonly instances: readonly ModuleInstance[];
  /** The `name` of every `@Migration()` provider of the module's graph, by the instance it names (`database`, else the default one). */
  readonly names: ReadonlyMap<string, readonly string[]>;
}

/**
 * Reads which migrations the app's module registers, for `create`: the module file is loaded and
 * its graph built in Nest's preview mode, which instantiates no provider (no database is opened,
 * no lifecycle hook runs). Providers are found as the library's explorer finds them, by the
 * decorator's metadata; imports by their `MigrationImport` and options, which are value
 * providers (set in preview mode too). Every failure is `MODULE_NOT_LOADABLE` or `BOOT_FAILED`,
 * naming the module.
 */
export async function readModuleMigrations(target: ModuleTarget, logger: LoggerService, cwd: string): Promise<ModuleMigrations> {
  const moduleClass = await loadAppModule(target);
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(moduleClass, { preview: true, abortOnError: false, logger });
  } catch (error) {
    throw new CliError('BOOT_FAILED', `reading the providers of ${target.label} failed: ${describeCause(error)}`, { cause: error });
  }
  try {
    const instances: ModuleInstance[] = [];
    const names = new Map<string, string[]>();
    for (const module of app.get(ModulesContainer).values()) {
      const instance: unknown = module.providers.get(MIGRATION_IMPORT)?.instance;
      if (instance instanceof MigrationImport)
        instances.push({ name: instance.name, ...optionsOf(module.providers.get(AUTO_MIGRATION_MODULE_OPTIONS)?.instance, cwd) });
      for (const wrapper of module.providers.values()) {
        if (typeof wrapper.metatype !== 'function' || wrapper.inject) continue;
        const metadata = Reflect.getMetadata(MIGRATION_METADATA, wrapper.metatype) as { name?: unknown; database?: unknown } | undefined;
        if (typeof metadata?.name !== 'string') continue;
        const database = typeof metadata.database === 'string' ? metadata.database : DEFAULT_INSTANCE;
        names.set(database, [...(names.get(database) ?? []), metadata.name]);
      }
    }
    return { instances, names };
  } finally {
    await app.close();
  }
}

/** What `create` needs of an import's options: set for `forRoot()`, unknown (a factory not run here) for `forRootAsync()`. */
function optionsOf(raw: unknown, cwd: string): Omit<ModuleInstance, 'name'> {
  const options = raw as { migrationsDir?: unknown; postgres?: unknown; database?: unknown } | undefined;
  return {
    migrationsDir: typeof options?.migrationsDir === 'string' ? resolve(cwd, options.migrationsDir) : null,
    dialect: options?.postgres !== undefined ? 'postgres' : options?.database !== undefined ? 'sqlite' : null,
  };
}

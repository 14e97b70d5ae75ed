import { resolve } from 'node:path';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { MIGRATION_METADATA } from '../auto-migration.constants';
import { AUTO_MIGRATION_MODULE_OPTIONS } from '../auto-migration.module-definition';
import { describeCause } from '../errors/auto-migration.error';
import { loadAppModule } from './app-context';
import { CliError } from './cli-error';
import type { ModuleTarget } from './load-module';

/** The migrations a module registers, as read without starting it. */
export interface ModuleMigrations {
  /** The `name` of every `@Migration()` provider of the module's graph. */
  readonly names: readonly string[];
  /**
   * The absolute `migrationsDir` of `AutoMigrationModule.forRoot()`, or null when it is not set
   * or given by `forRootAsync()` (a factory, which is not run here).
   */
  readonly migrationsDir: string | null;
  /** The module's database (`postgres` or `database` in `forRoot()`), or null when a factory gives it (`forRootAsync()`). */
  readonly dialect: 'sqlite' | 'postgres' | null;
}

/**
 * Reads which migrations the app's module registers, for `create`: the module file is loaded and
 * its graph built in Nest's preview mode, which instantiates no provider (no database is opened,
 * no lifecycle hook runs). Providers are found as the library's explorer finds them, by the
 * decorator's metadata. Every failure is `MODULE_NOT_LOADABLE` or `BOOT_FAILED`, naming the module.
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
    const names: string[] = [];
    let migrationsDir: string | null = null;
    let dialect: 'sqlite' | 'postgres' | null = null;
    for (const module of app.get(ModulesContainer).values()) {
      for (const [token, wrapper] of module.providers) {
        if (token === AUTO_MIGRATION_MODULE_OPTIONS) {
          const options = wrapper.instance as { migrationsDir?: unknown; postgres?: unknown; database?: unknown } | undefined;
          if (typeof options?.migrationsDir === 'string') migrationsDir = resolve(cwd, options.migrationsDir);
          if (options?.postgres !== undefined) dialect = 'postgres';
          else if (options?.database !== undefined) dialect = 'sqlite';
        }
        if (typeof wrapper.metatype !== 'function' || wrapper.inject) continue;
        const name = (Reflect.getMetadata(MIGRATION_METADATA, wrapper.metatype) as { name?: unknown } | undefined)?.name;
        if (typeof name === 'string') names.push(name);
      }
    }
    return { names, migrationsDir, dialect };
  } finally {
    await app.close();
  }
}

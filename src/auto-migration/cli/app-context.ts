import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CLI_CONTEXT } from '../auto-migration.constants';
import { AutoMigrationService } from '../auto-migration.service';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { CliError } from './cli-error';
import { loadModuleClass, type ModuleTarget } from './load-module';

/**
 * Boots the app's module as a Nest application context with the automatic run at bootstrap off,
 * hands its `AutoMigrationService` to `work`, and closes the context afterwards, also when
 * `work` fails (the module releases its connections and the lock in its shutdown hooks).
 *
 * `abortOnError: false` turns a module that cannot be built into a rejected promise instead of
 * Nest's `process.abort()`; the library's own errors (a database that cannot be opened, invalid
 * options or migrations) keep their code, anything else becomes `BOOT_FAILED`.
 */
export async function withAutoMigrationService<T>(
  target: ModuleTarget,
  logger: LoggerService,
  work: (service: AutoMigrationService) => Promise<T>,
): Promise<T> {
  const moduleClass = await loadModuleClass(target);
  // Read by MigrationStartup in onApplicationBootstrap: the command runs what it is told, nothing else.
  (globalThis as Record<symbol, unknown>)[CLI_CONTEXT] = true;

  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(moduleClass, { abortOnError: false, logger });
  } catch (error) {
    if (error instanceof AutoMigrationError) throw error;
    throw new CliError('BOOT_FAILED', `booting ${target.label} failed: ${describeCause(error)}`, { cause: error });
  }
  // Ctrl-C during `up` lets the module finish or roll back the migration in progress, as on an
  // app's shutdown, instead of cutting it off.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);

  let failed = false;
  try {
    return await work(serviceOf(app, target));
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    try {
      await app.close();
    } catch (error) {
      // The command's own error is what matters; a close failure after success must be seen.
      if (!failed) throw error;
    }
  }
}

function serviceOf(app: INestApplicationContext, target: ModuleTarget): AutoMigrationService {
  try {
    return app.get(AutoMigrationService, { strict: false });
  } catch {
    throw new CliError(
      'NOT_WIRED',
      `${target.label} does not import AutoMigrationModule (no AutoMigrationService in the application context); ` +
        'boot the module that imports AutoMigrationModule.forRoot(), or a slim module that imports it with your migrations',
    );
  }
}

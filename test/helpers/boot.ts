import { type INestApplication, Injectable, Logger, type LoggerService, Module, type Type } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { NestFactory } from '@nestjs/core';
import { AutoMigrationModule, type AutoMigrationModuleOptions, InjectMigrationDatabase } from '../../src/auto-migration';

/** Log lines captured from Nest's Logger, one string per call: `LEVEL [context] message`. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  /** Stack traces passed with error lines. */
  readonly traces: string[] = [];
  log(message: unknown, context?: string) {
    this.lines.push(`LOG [${context}] ${String(message)}`);
  }
  error(message: unknown, trace?: string, context?: string) {
    this.lines.push(`ERROR [${context}] ${String(message)}`);
    if (trace) this.traces.push(trace);
  }
  warn(message: unknown, context?: string) {
    this.lines.push(`WARN [${context}] ${String(message)}`);
  }
  debug() {}
  verbose() {}
}

export interface BootOptions {
  /** Migration classes, listed as providers of a separate user module (as an app would). */
  migrations?: Type<unknown>[];
  /** Extra modules, controllers and providers of the root module. */
  imports?: unknown[];
  controllers?: Type<unknown>[];
  providers?: Type<unknown>[];
  /** Use this module import instead of `AutoMigrationModule.forRoot(options)`. */
  autoMigration?: unknown;
}

/**
 * Creates (and by default initialises) a real Nest HTTP application with the module, the given
 * migrations in a module of their own, and a capturing logger. Nest's abort-on-error is off, so a
 * start-up failure is a rejected promise.
 */
export async function bootApp(
  options: Partial<AutoMigrationModuleOptions> & { database?: string },
  boot: BootOptions = {},
  { init = true, logger = new CapturingLogger() }: { init?: boolean; logger?: CapturingLogger } = {},
): Promise<{ app: INestApplication; logger: CapturingLogger }> {
  @Module({ providers: boot.migrations ?? [] })
  class TestMigrationsModule {}

  @Module({
    imports: [
      (boot.autoMigration as Type<unknown>) ?? AutoMigrationModule.forRoot(options as AutoMigrationModuleOptions),
      TestMigrationsModule,
      ...((boot.imports ?? []) as Type<unknown>[]),
    ],
    controllers: boot.controllers ?? [],
    providers: boot.providers ?? [],
  })
  class TestAppModule {}

  Logger.overrideLogger(logger);
  const app = await NestFactory.create(TestAppModule, { abortOnError: false, logger });
  if (init) {
    try {
      await app.init();
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
  }
  return { app, logger };
}

/** Boots, expecting start-up to fail; returns the error and the log. */
export async function bootFailure(options: Partial<AutoMigrationModuleOptions>, boot: BootOptions = {}): Promise<{ error: Error; logger: CapturingLogger }> {
  const logger = new CapturingLogger();
  try {
    const { app } = await bootApp(options, boot, { logger });
    await app.close();
  } catch (error) {
    return { error: error as Error, logger };
  }
  throw new Error('expected start-up to fail, but it succeeded');
}

/** Application code receiving the module's connection, as a user's service would (list it in `providers`). */
@Injectable()
export class UsesDatabase {
  constructor(@InjectMigrationDatabase() readonly db: Database) {}
}

import type { INestApplicationContext, LoggerService, Type } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { CLI_CONTEXT, DISCOVERED_MIGRATIONS, INSTANCE_SERVICE } from '../auto-migration.constants';
import { AutoMigrationService } from '../auto-migration.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { describeInstance } from '../instances/instance-name';
import { instancesIn } from '../instances/migration-instances';
import { CliError } from './cli-error';
import type { AppInstance } from './command';
import { loadModuleClass, type ModuleTarget } from './load-module';
import { enterPhase } from './progress';

/**
 * Boots the app's module as a Nest application context with the automatic run at bootstrap off,
 * hands every `AutoMigrationModule` import it holds (in import order: each instance's
 * `AutoMigrationService` and the names of the migrations it discovered) to `work`, and closes
 * the context afterwards, also when `work` fails (the module releases its connections and the
 * lock in its shutdown hooks).
 *
 * `abortOnError: false` turns a module that cannot be built into a rejected promise instead of
 * Nest's `process.abort()`; the library's own errors (a database that cannot be opened, invalid
 * options or migrations) keep their code, anything else becomes `BOOT_FAILED`.
 */
export async function withAppInstances<T>(target: ModuleTarget, logger: LoggerService, work: (instances: readonly AppInstance[]) => Promise<T>): Promise<T> {
  const moduleClass = await loadAppModule(target);

  enterPhase('booting');
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

  let result: T;
  try {
    const instances = instancesOf(app, target);
    enterPhase('running');
    result = await work(instances);
  } catch (error) {
    enterPhase('closing');
    try {
      await app.close();
    } catch {
      // The command's own error is what matters.
    }
    throw error;
  }
  enterPhase('closing');
  // A close failure after success must be seen: it is the command's error.
  await app.close();
  return result;
}

/**
 * Loads the module file for the command line: the automatic run is off and a file that starts an
 * application while it loads is refused (see `loadRefusingEntryFiles`).
 */
export async function loadAppModule(target: ModuleTarget): Promise<Type<unknown>> {
  // Set before the file is loaded, not only before booting: a file that boots the app when it is
  // required (the app's main.js named by mistake) must not apply migrations at its bootstrap.
  // Read by MigrationStartup in onApplicationBootstrap, and by whenReady().
  markCliContext();
  enterPhase('loading', target.label);
  return loadRefusingEntryFiles(target);
}

/** Tells the library (every copy of it: the symbol is registered) that the command line is in charge. */
function markCliContext(): void {
  (globalThis as Record<symbol, unknown>)[CLI_CONTEXT] = true;
}

/** The `NestFactory` methods that start an application. */
const FACTORY_METHODS = ['create', 'createApplicationContext', 'createMicroservice'] as const;

/**
 * Loads the module file while `NestFactory`'s methods are replaced by a stand-in that records the
 * call and never settles: a file that starts an application while it loads is the app's entry
 * file (`dist/main.js`), not its module. Its application is never created (no server listens, no
 * provider runs) and the command is refused, naming the file. The stand-in stays where the call
 * happened; the real methods are back before the command boots the module itself.
 */
async function loadRefusingEntryFiles(target: ModuleTarget): Promise<Type<unknown>> {
  const factory = NestFactory as unknown as Record<string, unknown>;
  const own = FACTORY_METHODS.map((name) => [name, Object.getOwnPropertyDescriptor(factory, name)] as const);
  let started: string | null = null;
  let refuse!: (error: CliError) => void;
  const refused = new Promise<never>((_, reject) => (refuse = reject));
  refused.catch(() => undefined);
  for (const name of FACTORY_METHODS) {
    factory[name] = () => {
      if (started === null) {
        started = name;
        refuse(entryFileError(target, name));
      }
      return new Promise<never>(() => undefined);
    };
  }
  try {
    // An ES module may await the application at top level: the refusal wins that race.
    const moduleClass = await Promise.race([refused, loadModuleClass(target)]);
    if (started !== null) throw entryFileError(target, started);
    return moduleClass;
  } finally {
    for (const [name, descriptor] of own) {
      if (descriptor) Object.defineProperty(factory, name, descriptor);
      else delete factory[name];
    }
  }
}

function entryFileError(target: ModuleTarget, method: string): CliError {
  return new CliError(
    'MODULE_NOT_LOADABLE',
    `${target.file} starts a Nest application when it is loaded (it calls NestFactory.${method}()): it is the app's entry file ` +
      '(main.ts), not its module. Name the compiled file of the module instead, e.g. --module dist/app.module.js#AppModule; the application was not started',
  );
}

/** Each import's service and discovered migrations, reached through its own module (every import has both). */
function instancesOf(app: INestApplicationContext, target: ModuleTarget): AppInstance[] {
  const modules = app.get(ModulesContainer);
  const imported = instancesIn(modules);
  if (imported.length === 0) throw notWired(modules, target);
  return imported.map((instance) => {
    const { moduleRef } = instance;
    // Set when the import's providers are instantiated, which a booted context has done.
    if (!moduleRef) throw new CliError('BOOT_FAILED', `booting ${target.label} did not create the providers of ${describeInstance(instance.name)}`);
    return {
      name: instance.name,
      service: moduleRef.get<symbol, AutoMigrationService>(INSTANCE_SERVICE, { strict: true }),
      migrationNames: moduleRef.get<symbol, MigrationDefinition[]>(DISCOVERED_MIGRATIONS, { strict: true }).map((migration) => migration.name),
    };
  });
}

function notWired(modules: ModulesContainer, target: ModuleTarget): CliError {
  if (hasForeignService(modules)) {
    return new CliError(
      'NOT_WIRED',
      `${target.label} imports AutoMigrationModule from another copy of nestjs-auto-migration than this command line's ` +
        "(two copies of the package are loaded, so the command cannot reach the module's AutoMigrationService): run the " +
        "command line installed in the app's project, `npx nest-auto-migration` from its folder, not a global or another project's one",
    );
  }
  return new CliError(
    'NOT_WIRED',
    `${target.label} does not import AutoMigrationModule (no AutoMigrationService in the application context); ` +
      'boot the module that imports AutoMigrationModule.forRoot(), or a slim module that imports it with your migrations',
  );
}

/**
 * Whether a provider of the context is a class named `AutoMigrationService` that is not this
 * package's: the app loaded another copy of the package (whose imports `instancesIn` does not
 * recognise either).
 */
function hasForeignService(modules: ModulesContainer): boolean {
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const type = wrapper.metatype;
      if (typeof type === 'function' && type.name === AutoMigrationService.name && type !== AutoMigrationService) return true;
    }
  }
  return false;
}

import type { ModuleRef, ModulesContainer } from '@nestjs/core';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';

/** @internal Injection token of an import's `MigrationImport` (a value provider, so it exists from the scan on). */
export const MIGRATION_IMPORT = Symbol('AUTO_MIGRATION_IMPORT');
/** @internal Injection token of an import's `MigrationInstance` in one application. */
export const MIGRATION_INSTANCE = Symbol('AUTO_MIGRATION_INSTANCE');

/**
 * @internal One `forRoot()` / `forRootAsync()` call, as written: made when it is called, so it is
 * shared by every application built from the module that imports it (the tests of an app build
 * many). Holds only what the call says; each application's state is its `MigrationInstance`.
 */
export class MigrationImport {
  /**
   * @param name The import's name (`'default'` without one).
   * @param optionsNeedProviders Whether its options come from a factory that injects providers
   *   (`forRootAsync({ inject })`, `useClass`, `useExisting`). The other imports do not wait for
   *   such options before opening their databases: the factory may depend on one of them (settings
   *   kept in the main database), which would wait forever.
   */
  constructor(
    readonly name: string,
    readonly optionsNeedProviders = false,
  ) {}
}

/** How an instance's start-up ended, as the instances imported after it see it. */
export type StartOutcome = 'continue' | 'stop';

/**
 * @internal One import in one application, as the other imports of that application see it: its
 * name, its options once resolved, its migrations once discovered, its module's providers, and
 * how its start-up ended. Found through Nest's container (`MigrationInstances`), one per import per
 * application (`instanceFor`).
 */
export class MigrationInstance {
  readonly name: string;
  readonly optionsNeedProviders: boolean;
  /** Settles once this import's options are validated (or refused). */
  readonly options: Promise<ResolvedAutoMigrationOptions>;
  /** Settles once this import's migrations are discovered and validated (or refused). */
  readonly discovered: Promise<void>;
  /** Settles once this import's bootstrap run is over: the next import's run waits for it. */
  readonly started: Promise<StartOutcome>;
  /** This import's own module, for reaching its providers (set when they are instantiated). */
  moduleRef: ModuleRef | null = null;
  /** The options, once resolved: what the other imports compare theirs with. */
  resolvedOptions: ResolvedAutoMigrationOptions | null = null;
  private settleOptions!: { resolve(options: ResolvedAutoMigrationOptions): void; reject(error: unknown): void };
  private settleDiscovery!: { resolve(): void; reject(error: unknown): void };
  private settleStart!: (outcome: StartOutcome) => void;

  constructor(declared: MigrationImport) {
    this.name = declared.name;
    this.optionsNeedProviders = declared.optionsNeedProviders;
    this.options = new Promise((resolve, reject) => (this.settleOptions = { resolve, reject }));
    this.discovered = new Promise((resolve, reject) => (this.settleDiscovery = { resolve, reject }));
    // Rejections are read by whoever awaits them; an import no one compares with must not crash the process.
    this.options.catch(() => undefined);
    this.discovered.catch(() => undefined);
    this.started = new Promise((resolve) => (this.settleStart = resolve));
  }

  optionsResolved(options: ResolvedAutoMigrationOptions): void {
    this.resolvedOptions = options;
    this.settleOptions.resolve(options);
  }

  optionsRefused(error: unknown): void {
    this.settleOptions.reject(error);
  }

  /** Runs the discovery, noting how it ended for the other imports. */
  discover<T>(explore: () => T): T {
    try {
      const found = explore();
      this.settleDiscovery.resolve();
      return found;
    } catch (error) {
      this.settleDiscovery.reject(error);
      throw error;
    }
  }

  /** Settles `started`; later calls are ignored (the first outcome is the one the next import saw). */
  startEnded(outcome: StartOutcome): void {
    this.settleStart(outcome);
  }
}

const applications = new WeakMap<ModulesContainer, Map<MigrationImport, MigrationInstance>>();

/** The instance of an import in the application that `modules` is the container of, made on first use. */
export function instanceFor(modules: ModulesContainer, declared: MigrationImport): MigrationInstance {
  let instances = applications.get(modules);
  if (!instances) applications.set(modules, (instances = new Map<MigrationImport, MigrationInstance>()));
  let instance = instances.get(declared);
  if (!instance) instances.set(declared, (instance = new MigrationInstance(declared)));
  return instance;
}

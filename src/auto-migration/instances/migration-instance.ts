import type { ModuleRef } from '@nestjs/core';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';

/** @internal Injection token of an import's `MigrationInstance` (a value provider, so it exists from the scan on). */
export const MIGRATION_INSTANCE = Symbol('AUTO_MIGRATION_INSTANCE');

/** How an instance's start-up ended, as the instances imported after it see it. */
export type StartOutcome = 'continue' | 'stop';

/**
 * @internal One `forRoot()` / `forRootAsync()` import, as the other imports of the app see it: its
 * name, its options once resolved, its module's providers, and how its start-up ended. Made when
 * `forRoot()` is called, so every import of an app can be found in Nest's container before any
 * provider is instantiated (`MigrationInstances`).
 */
export class MigrationInstance {
  /** Settles once this import's options are validated (or refused). */
  readonly options: Promise<ResolvedAutoMigrationOptions>;
  /** Settles once this import's bootstrap run is over: the next import's run waits for it. */
  readonly started: Promise<StartOutcome>;
  /** This import's own module, for reaching its providers (set when they are instantiated). */
  moduleRef: ModuleRef | null = null;
  /** The options, once resolved: what the other imports compare theirs with. */
  resolvedOptions: ResolvedAutoMigrationOptions | null = null;
  private settleOptions!: { resolve(options: ResolvedAutoMigrationOptions): void; reject(error: unknown): void };
  private settleStart!: (outcome: StartOutcome) => void;

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
  ) {
    this.options = new Promise((resolve, reject) => (this.settleOptions = { resolve, reject }));
    // Rejections are read by whoever awaits them; an import no one compares with must not crash the process.
    this.options.catch(() => undefined);
    this.started = new Promise((resolve) => (this.settleStart = resolve));
  }

  optionsResolved(options: ResolvedAutoMigrationOptions): void {
    this.resolvedOptions = options;
    this.settleOptions.resolve(options);
  }

  optionsRefused(error: unknown): void {
    this.settleOptions.reject(error);
  }

  /** Settles `started`; later calls are ignored (the first outcome is the one the next import saw). */
  startEnded(outcome: StartOutcome): void {
    this.settleStart(outcome);
  }
}

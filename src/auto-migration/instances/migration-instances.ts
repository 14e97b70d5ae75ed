import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { describeInstance } from './instance-name';
import { checkInstanceConflicts } from './instance-conflicts';
import { MIGRATION_INSTANCE, MigrationInstance, type StartOutcome } from './migration-instance';

/**
 * The `AutoMigrationModule` imports of an application, in import order, from its container
 * (`app.get(ModulesContainer)`): for the command line, which reaches each instance's providers
 * through `moduleRef`.
 */
export function instancesIn(modules: ModulesContainer): MigrationInstance[] {
  const found: MigrationInstance[] = [];
  for (const module of modules.values()) {
    const instance: unknown = module.providers.get(MIGRATION_INSTANCE)?.instance;
    if (instance instanceof MigrationInstance) found.push(instance);
  }
  return found;
}

/**
 * Every `AutoMigrationModule` import of the application, in import order (the order Nest scanned
 * them, which is also the order of their bootstrap hooks), found in Nest's container: each import
 * holds its `MigrationInstance` as a value provider, present from the scan on.
 */
@Injectable()
export class MigrationInstances {
  private cached: readonly MigrationInstance[] | null = null;

  constructor(
    private readonly modules: ModulesContainer,
    @Inject(MIGRATION_INSTANCE) readonly own: MigrationInstance,
    moduleRef: ModuleRef,
  ) {
    own.moduleRef = moduleRef;
  }

  /** Every import, in import order. The container is complete once providers are instantiated. */
  all(): readonly MigrationInstance[] {
    this.cached ??= instancesIn(this.modules);
    return this.cached;
  }

  names(): string[] {
    return [...new Set(this.all().map((instance) => instance.name))];
  }

  /** The import with this name; null when the app has none. */
  find(name: string): MigrationInstance | null {
    return this.all().find((instance) => instance.name === name) ?? null;
  }

  /**
   * Refuses two imports with one name or one database (`checkInstanceConflicts`), before this
   * import opens its database. Waits for this import's options and for every other import's whose
   * options need no provider (`forRoot()`, a factory without `inject`), then compares every import
   * resolved by then: among such imports a refusal opens nothing. An import whose factory injects
   * providers is compared when its own options are resolved, before it opens its database (the
   * others may have opened theirs by then; nothing runs, as start-up fails). An import whose
   * options were refused fails start-up by itself.
   */
  async assertNoConflicts(): Promise<void> {
    await Promise.allSettled(
      this.all()
        .filter((instance) => instance === this.own || !instance.optionsNeedProviders)
        .map((instance) => instance.options),
    );
    const resolved = this.all().flatMap((instance) => (instance.resolvedOptions ? [{ name: instance.name, options: instance.resolvedOptions }] : []));
    checkInstanceConflicts(resolved);
  }

  /**
   * Waits for the start-up of every import before this one. `'stop'` when one of them stopped
   * start-up (its run failed with `failOnError`): this import then applies nothing.
   */
  async previousStarted(): Promise<{ outcome: StartOutcome; stoppedBy: string | null }> {
    for (const instance of this.all()) {
      if (instance === this.own) break;
      if ((await instance.started) === 'stop') return { outcome: 'stop', stoppedBy: describeInstance(instance.name) };
    }
    return { outcome: 'continue', stoppedBy: null };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { describeInstance } from './instance-name';
import { checkInstanceConflicts } from './instance-conflicts';
import { instanceFor, MIGRATION_IMPORT, MIGRATION_INSTANCE, MigrationImport, type MigrationInstance, type StartOutcome } from './migration-instance';

/**
 * The `AutoMigrationModule` imports of an application, in import order, from its container
 * (`app.get(ModulesContainer)`): for the command line, which reaches each instance's providers
 * through `moduleRef`.
 */
export function instancesIn(modules: ModulesContainer): MigrationInstance[] {
  const found: MigrationInstance[] = [];
  for (const module of modules.values()) {
    const declared: unknown = module.providers.get(MIGRATION_IMPORT)?.instance;
    if (declared instanceof MigrationImport) found.push(instanceFor(modules, declared));
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
   * import opens its database. It waits for this import's options
   * and for every other import's options and migrations, except those whose options need
   * providers (`forRootAsync({ inject })`, `useClass`, `useExisting`); an import refused there
   * (bad options, bad migrations) refuses this one too, with its error, so that nothing is opened.
   * Options that need providers are compared when they are resolved, before their own import opens
   * its database (the others may have opened theirs by then; nothing runs, as start-up fails).
   */
  async assertNoConflicts(): Promise<void> {
    const all = this.all();
    const awaited = all.filter((instance) => instance === this.own || !instance.optionsNeedProviders);
    const settled = await Promise.allSettled(
      awaited.flatMap((instance) => (instance === this.own ? [instance.options] : [instance.options, instance.discovered])),
    );
    const refused = settled.find((result) => result.status === 'rejected');
    if (refused) throw refused.reason;
    // Every name is known from the scan on; options only once resolved.
    checkInstanceConflicts(all.map((instance) => ({ name: instance.name, options: instance.resolvedOptions })));
  }

  /**
   * Waits for the start-up of every import before this one. `'stop'` when one of them stopped
   * start-up (its run failed with `failOnError`): this import then applies nothing.
   */
  async previousStarted({ skipBackground }: { skipBackground: boolean }): Promise<{ outcome: StartOutcome; stoppedBy: string | null }> {
    for (const instance of this.all()) {
      if (instance === this.own) break;
      if (skipBackground && instance.resolvedOptions?.mode === 'background') continue;
      if ((await instance.started) === 'stop') return { outcome: 'stop', stoppedBy: describeInstance(instance.name) };
    }
    return { outcome: 'continue', stoppedBy: null };
  }
}

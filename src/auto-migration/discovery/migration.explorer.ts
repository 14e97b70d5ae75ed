import { Inject, Injectable, Scope } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { MIGRATION_METADATA, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { InvalidMigrationError } from '../errors/invalid-migration.error';
import type { MigrationCandidate, MigrationDefinition } from './migration-definition';
import { validateMigrations } from './migration-validator';
import { readSqlMigrations } from './sql-file-migrations';
import { sqlFileCheck } from '../driver/sql-file-check';
import { DEFAULT_INSTANCE, describeInstance } from '../instances/instance-name';
import { MigrationInstances } from '../instances/migration-instances';

/**
 * Finds the `@Migration()` providers of every module through Nest's container that belong to this
 * instance (`database` in the decorator, the default instance when it has none), and the `.sql`
 * files of `migrationsDir` when it is set, and returns them validated and sorted in one list. It
 * reads class metadata and files only, so it can run before any provider instance exists, and
 * therefore before the database is opened. A migration that names an instance the app does not
 * import is refused here, by every instance.
 */
@Injectable()
export class MigrationExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly instances: MigrationInstances,
  ) {}

  explore(): MigrationDefinition[] {
    const own = this.instances.own.name;
    const names = new Set(this.instances.names());
    const strays: string[] = [];
    // One metadata lookup per provider, in a plain loop: an app may list thousands of migrations.
    const candidates: MigrationCandidate[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      if (typeof wrapper.metatype !== 'function' || wrapper.inject) continue;
      const metadata: unknown = Reflect.getMetadata(MIGRATION_METADATA, wrapper.metatype);
      if (metadata === undefined) continue;
      const database = (metadata as { database?: unknown }).database ?? DEFAULT_INSTANCE;
      // A database that is not a string is claimed by every instance, so that its validation names it.
      if (database === own || typeof database !== 'string') candidates.push(new ProviderCandidate(wrapper, metadata));
      else if (!names.has(database)) strays.push(strayMessage(wrapper.metatype as { name: string }, database, names));
    }
    if (strays.length > 0) throw new InvalidMigrationError(strays);
    const sql = this.options.migrationsDir === null ? undefined : readSqlMigrations(this.options.migrationsDir, undefined, sqlFileCheck(this.options));
    return validateMigrations(candidates, sql);
  }
}

function strayMessage(type: { name: string }, database: string, names: ReadonlySet<string>): string {
  const imported = [...names].map((name) => describeInstance(name)).join(', ') || 'none';
  const fix =
    database === DEFAULT_INSTANCE
      ? `give it database: "${[...names][0] ?? 'name'}" in @Migration(), or import AutoMigrationModule.forRoot() without a name for it`
      : `import AutoMigrationModule.forRoot({ name: "${database}", ... }), or correct database in its @Migration()`;
  return `${type.name || '(anonymous class)'}: belongs to ${describeInstance(database)}, which the app does not import (it imports ${imported}); ${fix}. Nothing was opened`;
}

/**
 * A decorated provider as the container holds it. A class rather than an object with a closure:
 * one is made per migration at every start.
 */
class ProviderCandidate implements MigrationCandidate {
  readonly type: MigrationCandidate['type'];
  // Only the declared scope is known before instantiation; asking Nest for the whole tree now
  // would cache an answer computed before its dependencies are known.
  readonly isSingleton: boolean;

  constructor(
    private readonly wrapper: InstanceWrapper<unknown>,
    readonly metadata: unknown,
  ) {
    this.type = wrapper.metatype as MigrationCandidate['type'];
    this.isSingleton = wrapper.scope !== Scope.REQUEST && !wrapper.isTransient;
  }

  instance(): unknown {
    if (!this.wrapper.isDependencyTreeStatic() || this.wrapper.instance === undefined) {
      throw new InvalidMigrationError([
        `${this.type.name}: depends on a request-scoped provider, so it has no single instance to run; inject only singleton providers into migrations`,
      ]);
    }
    return this.wrapper.instance;
  }
}

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

/**
 * Finds the `@Migration()` providers of every module through Nest's container, and the `.sql`
 * files of `migrationsDir` when it is set, and returns them validated and sorted in one list. It
 * reads class metadata and files only, so it can run before any provider instance exists, and
 * therefore before the database is opened.
 */
@Injectable()
export class MigrationExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
  ) {}

  explore(): MigrationDefinition[] {
    // One metadata lookup per provider, in a plain loop: an app may list thousands of migrations.
    const candidates: MigrationCandidate[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      if (typeof wrapper.metatype !== 'function' || wrapper.inject) continue;
      const metadata: unknown = Reflect.getMetadata(MIGRATION_METADATA, wrapper.metatype);
      if (metadata !== undefined) candidates.push(new ProviderCandidate(wrapper, metadata));
    }
    const sql = this.options.migrationsDir === null ? undefined : readSqlMigrations(this.options.migrationsDir, undefined, sqlFileCheck(this.options));
    return validateMigrations(candidates, sql);
  }
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

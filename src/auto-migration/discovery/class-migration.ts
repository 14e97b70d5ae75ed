import type { Type } from '@nestjs/common';
import type { MigrationInterface, MigrationOptions } from '../migration.interface';
import { classFingerprint, classSourceHash } from './migration-checksum';
import type { MigrationCandidate, MigrationDefinition } from './migration-definition';

/**
 * The definition of a validated `@Migration()` class. A class rather than an object literal with
 * getters: an app may list thousands of migrations and builds every definition at each start,
 * and an instance of a class is one allocation with a shared shape, where a literal with
 * accessors is built property by property and carries its own closures.
 */
export class ClassMigration implements MigrationDefinition {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly transaction: boolean;
  readonly foreignKeys: 'check' | 'enforce';
  readonly allow: readonly string[];
  readonly className: string;
  readonly source = 'class';
  private readonly type: Type<unknown>;
  private readonly candidate: MigrationCandidate;
  // Computed on first use, then kept: a start with nothing pending never pays for them.
  private fingerprint: { checksum: string; storedSourceHash: string | null } | undefined;
  private rawSourceHash: string | null | undefined;

  constructor(candidate: MigrationCandidate) {
    const meta = candidate.metadata as MigrationOptions;
    this.candidate = candidate;
    this.type = candidate.type;
    this.name = meta.name;
    this.version = meta.version;
    this.description = meta.description ?? '';
    this.transaction = meta.transaction ?? true;
    this.foreignKeys = meta.foreignKeys ?? 'check';
    this.allow = meta.allow ?? [];
    this.className = candidate.type.name;
    if (meta.checksum !== undefined) {
      this.fingerprint = { checksum: meta.checksum, storedSourceHash: null };
      this.rawSourceHash = null;
    }
  }

  get checksum(): string {
    return (this.fingerprint ??= classFingerprint(this.type)).checksum;
  }

  get sourceHash(): string | null {
    return this.rawSourceHash === undefined ? (this.rawSourceHash = classSourceHash(this.type)) : this.rawSourceHash;
  }

  get storedSourceHash(): string | null {
    return (this.fingerprint ??= classFingerprint(this.type)).storedSourceHash;
  }

  instance(): MigrationInterface {
    return this.candidate.instance() as MigrationInterface;
  }
}

import type { Type } from '@nestjs/common';
import type { MigrationInterface } from '../migration.interface';

/** A discovered, validated migration, ready to run. */
export interface MigrationDefinition {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly transaction: boolean;
  /** Foreign keys while it runs: turned off and checked (`'check'`), or left on (`'enforce'`). */
  readonly foreignKeys: 'check' | 'enforce';
  /** Safety-analysis rules it acknowledges: their findings are shown as accepted. Absent: none. */
  readonly allow?: readonly string[];
  /** Explicit decorator checksum, or the one derived from the class source (computed once, on first use). */
  readonly checksum: string;
  /**
   * Hash of the class's raw source, or null when the decorator gives `checksum` or the migration
   * is a `.sql` file (computed once, on first use).
   */
  readonly sourceHash: string | null;
  /**
   * The source hash to store with its history row: null when the class has methods defined outside
   * its body (their text is not in the hashed class text), so a start never skips its checksum.
   */
  readonly storedSourceHash: string | null;
  /** Class name, or for a `.sql` migration its file name (`005_add_tags.sql`), for messages. */
  readonly className: string;
  /** Where it is defined: a `@Migration()` class, or a `.sql` file of `migrationsDir`. Absent means a class. */
  readonly source?: 'class' | 'sql';
  /** For a `.sql` migration, its path relative to the working directory (absolute when outside it). */
  readonly file?: string;
  /**
   * The provider instance, created by Nest's container; for a `.sql` migration, an object whose
   * `up` runs the file and whose `down` exists only when a `.down.sql` does.
   */
  instance(): MigrationInterface;
}

/** @internal A decorated provider as found in the container, before validation. */
export interface MigrationCandidate {
  readonly type: Type<unknown>;
  readonly metadata: unknown;
  /** False for request-scoped or transient providers, which have no single instance to run. */
  readonly isSingleton: boolean;
  instance(): unknown;
}

import { performance } from 'node:perf_hooks';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { CapturedStatement, CopyRehearsal, RehearsalCopy } from '../driver/capabilities';
import type { RelationLock } from '../safety/schema-snapshot';
import type { CopyTimes, MigrationApplier } from './migration-applier';

/** Statement times to a hundredth of a millisecond: most take well under one. */
const round = (ms: number) => Math.round(ms * 100) / 100;

/** One migration as it ran on a copy. */
export interface CopyRunMigration {
  /** The migration's name. */
  readonly name: string;
  /** Its `version`. */
  readonly version: string;
  /** Its `description`; `''` when it has none. */
  readonly description: string;
  /** Its `transaction` option: false when it ran outside a transaction. */
  readonly transaction: boolean;
  /** False for a `transaction: false` migration where the "copy" is a rolled-back transaction: listed, not run. */
  readonly rehearsed: boolean;
  /** The whole migration on the copy, its transaction included, in whole milliseconds; 0 when not `rehearsed`. */
  readonly durationMs: number;
  /**
   * Every statement it issued, in order, as the database ran them (SQLite: parameters expanded, a bound number
   * that is a whole number shown as an integer; an `exec()` of several statements, such as a
   * `.sql` file, gives one entry per statement, a trigger body staying inside its CREATE TRIGGER),
   * each with the time from its start to the next statement's start (or until `up()` returned).
   */
  readonly statements: CopyRunStatement[];
  /**
   * Time from the end of `up()` to the end of its transaction: the foreign-key check and the
   * COMMIT. Null for a migration that ran without a transaction, or failed.
   */
  readonly commitMs: number | null;
}

/** A statement a migration issued on the copy. */
export interface CopyRunStatement {
  /** The statement as the database ran it. */
  readonly sql: string;
  /** From its start to the next statement's start (or until `up()` returned), in milliseconds to two decimals. */
  readonly durationMs: number;
  /** Table locks held after it, when the run watched them (the safety analysis, on PostgreSQL). */
  readonly locks?: readonly RelationLock[];
}

/** Called around each migration that runs on the copy, between its transactions: the safety analysis reads the copy there. */
export interface CopyRunObserver {
  before(copy: RehearsalCopy, migration: MigrationDefinition): Promise<void>;
  /** `failure` is what made it fail (its transaction rolled back), or null. */
  after(copy: RehearsalCopy, migration: MigrationDefinition, ran: CopyRunMigration, failure: unknown): Promise<void>;
}

/** What applying migrations to a copy did: the ones that ran, and the one that failed, if any. */
export interface CopyRun {
  readonly migrations: CopyRunMigration[];
  readonly failure: { readonly migration: string; readonly cause: unknown } | null;
}

/**
 * Applies migrations to a throwaway copy of the database (the driver's), never to the live one:
 * the rehearsal before a run, and the CLI's `up --dry-run`. Each migration runs as the runner would
 * run it (`MigrationApplier.onCopy`), in its own transaction unless it says `transaction: false`;
 * the first failure stops. Every statement is captured. Side effects of injected services are not
 * rehearsed: a migration that calls them calls them here too.
 */
export async function runOnCopy(
  applier: MigrationApplier,
  rehearsal: CopyRehearsal,
  migrations: readonly MigrationDefinition[],
  folder: string | null,
  observer?: CopyRunObserver,
): Promise<CopyRun> {
  const copy = await rehearsal.openCopy(folder);
  const ran: CopyRunMigration[] = [];
  try {
    for (const migration of migrations) {
      const { name, version, description, transaction } = migration;
      if (!transaction && copy.skipsUntransacted) {
        ran.push({ name, version, description, transaction, rehearsed: false, durationMs: 0, statements: [], commitMs: null });
        continue;
      }
      await observer?.before(copy, migration);
      const issued: CapturedStatement[] = [];
      const started = performance.now();
      const times: CopyTimes = { returned: null, committed: null };
      const failed = await applier.onCopy(copy, migration, issued, times);
      // The failed one is listed too, with the statements it issued before it failed.
      const ended = performance.now();
      // The last statement ends when up() returns: the check and COMMIT after it are timed apart.
      const statements = issued.map(({ sql, at, locks }, i) => ({
        sql,
        durationMs: round((issued[i + 1]?.at ?? times.returned ?? ended) - at),
        ...(locks && { locks }),
      }));
      const commitMs = times.committed !== null && times.returned !== null ? round(times.committed - times.returned) : null;
      const migrationRan: CopyRunMigration = {
        name,
        version,
        description,
        transaction,
        rehearsed: true,
        durationMs: Math.round(ended - started),
        statements,
        commitMs,
      };
      ran.push(migrationRan);
      await observer?.after(copy, migration, migrationRan, failed ? failed.cause : null);
      if (failed) return { migrations: ran, failure: { migration: migration.name, cause: failed.cause } };
    }
    return { migrations: ran, failure: null };
  } finally {
    await copy.dispose();
  }
}

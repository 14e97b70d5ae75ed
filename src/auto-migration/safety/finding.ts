import type { FindingLevel, RuleId } from './rules';

/**
 * One thing the safety analysis found in a pending migration, as `lint --json` prints it. Fields
 * may be added; none is removed or renamed.
 */
export interface Finding {
  /** The rule's stable id (`drop-column`). */
  readonly rule: RuleId;
  /** The rule's level: an `error` not `accepted` makes the report `blocking`. */
  readonly level: FindingLevel;
  /** The migration's name. */
  readonly migration: string;
  /** What it touches: `table`, `table.column`, or an index's name. */
  readonly object: string;
  /** The statement that did it, when the rehearsal can tell which (null otherwise). */
  readonly statement: string | null;
  /** Acknowledged by the migration (`allow` in `@Migration()`, `-- allow:` in a SQL file): shown, never failing. */
  readonly accepted: boolean;
  /** One sentence: what the migration does and what it measured on the rehearsal. */
  readonly message: string;
  /** Why it hurts. */
  readonly why: string;
  /** The safe way to make the change. */
  readonly safePattern: string;
  /** Rows involved on the rehearsal, where the rule counts some (rows lost, NULLs, duplicates); null otherwise. */
  readonly rows: number | null;
  /** How long the rehearsal held the lock, for `long-exclusive-lock`; null otherwise. */
  readonly lockMs: number | null;
}

/** What the analysis of the pending migrations gives (`lint`, `up --dry-run`, the start-up check). */
export interface SafetyReport {
  /** Where they were rehearsed: a copy of the database (SQLite) or a rolled-back transaction (PostgreSQL). */
  readonly on: 'copy' | 'rolled-back transaction';
  /** The pending migrations analysed, in order. */
  readonly migrations: readonly string[];
  /** `transaction: false` migrations a rolled-back transaction cannot run: not analysed. */
  readonly notRehearsed: readonly string[];
  /** Everything found, accepted ones included, in the order of the migrations. */
  readonly findings: readonly Finding[];
  /** The migration that failed on the rehearsal, or null; the ones after it were not analysed. */
  readonly failed: {
    /** The migration's name. */
    readonly migration: string;
    /** `MIGRATION_FAILED` for an error the migration threw, else the module error's code (e.g. `FOREIGN_KEY_VIOLATION`). */
    readonly code: string;
    /** What it threw: the database's message, or the module's. */
    readonly message: string;
  } | null;
  /** True when an error-level finding is not accepted: `lint` exits 1, `safety: 'refuse'` refuses to apply. */
  readonly blocking: boolean;
}

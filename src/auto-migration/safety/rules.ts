/** The default of `long-exclusive-lock`'s threshold (`safety.longLockMs`, `lint --long-lock-ms`). */
export const DEFAULT_LONG_LOCK_MS = 1000;

/** How much a finding matters: an unaccepted `error` fails `lint` and, with `safety: 'refuse'`, the run. */
export type FindingLevel = 'error' | 'warning';

/** The rule ids: stable, part of the public contract (`-- allow: <rule>`, `@Migration({ allow })`, `lint --json`). */
export const RULE_IDS = [
  'drop-table',
  'drop-column',
  'rename-table',
  'rename-column',
  'change-column-type',
  'add-not-null',
  'add-unique',
  'rows-deleted',
  'drop-index',
  'index-not-concurrent',
  'foreign-key-validated-in-place',
  'set-not-null-scan',
  'volatile-default',
  'table-rewrite',
  'long-exclusive-lock',
] as const;

/** A rule's id, one of `RULE_IDS`: what `allow` in `@Migration()` and `-- allow:` in a SQL file accept. */
export type RuleId = (typeof RULE_IDS)[number];

/** What a rule says about every finding of it: its level, why the change hurts, and the safe way to make it. */
export interface RuleDescription {
  /** The level of every finding of the rule. */
  readonly level: FindingLevel;
  /** `both`, or the one database whose catalog or locks the rule reads. */
  readonly databases: 'both' | 'postgres';
  /** Why the change hurts: what is lost, or what the previous release's replicas or the live traffic suffer. */
  readonly why: string;
  /** The safe way to make the change (expand and contract, a concurrent index, a validated constraint...). */
  readonly safePattern: string;
}

const OLD_RELEASE = 'replicas of the previous release still serving traffic during a rolling deploy use the old name and fail';

/** The catalogue, one entry per rule: the rules table of docs/safety-analysis.md is written from it. */
export const RULES: Readonly<Record<RuleId, RuleDescription>> = {
  'drop-table': {
    level: 'error',
    databases: 'both',
    why: `its rows are lost, and ${OLD_RELEASE}`,
    safePattern: 'stop using the table in one release, drop it in a later one (expand and contract); back it up or archive its rows first',
  },
  'drop-column': {
    level: 'error',
    databases: 'both',
    why: `its values are lost, and ${OLD_RELEASE}`,
    safePattern: 'stop reading and writing the column in one release (TypeORM: select: false / ignore it), drop it in a later one',
  },
  'rename-table': {
    level: 'error',
    databases: 'both',
    why: OLD_RELEASE,
    safePattern: 'create the new table (or a view under the new name), write to both, move readers, then drop the old one in a later release',
  },
  'rename-column': {
    level: 'error',
    databases: 'both',
    why: OLD_RELEASE,
    safePattern: 'add the new column, write to both, backfill, move readers, then drop the old column in a later release',
  },
  'change-column-type': {
    level: 'error',
    databases: 'both',
    why: 'values may not convert the same way, the previous release may write values the new type refuses, and on PostgreSQL most type changes rewrite the table under an exclusive lock',
    safePattern: 'add a column of the new type, write to both, backfill in batches, switch readers, then drop the old column',
  },
  'add-not-null': {
    level: 'error',
    databases: 'both',
    why: 'rows holding NULL make the migration fail, and the previous release, which may still insert NULL, fails on every such insert',
    safePattern:
      'backfill the NULLs and deploy code that never writes NULL first; on PostgreSQL add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL',
  },
  'add-unique': {
    level: 'error',
    databases: 'both',
    why: 'duplicate rows make it fail, and the previous release may still insert duplicates, which then fail',
    safePattern:
      'remove the duplicates and deploy code that never writes them first; on PostgreSQL build the unique index CONCURRENTLY, then attach it with ADD CONSTRAINT ... UNIQUE USING INDEX',
  },
  'rows-deleted': {
    level: 'warning',
    databases: 'both',
    why: 'the migration deletes rows: if that is not the intent, data is lost',
    safePattern: 'check that the delete is meant; keep a backup or move the rows to an archive table first',
  },
  'drop-index': {
    level: 'warning',
    databases: 'both',
    why: 'queries that used the index become scans, which may overload the database',
    safePattern: 'check in the query plans that nothing uses it; on PostgreSQL DROP INDEX CONCURRENTLY does not block writes',
  },
  'index-not-concurrent': {
    level: 'error',
    databases: 'postgres',
    why: 'CREATE INDEX without CONCURRENTLY holds a SHARE lock that blocks every write to the table until the index is built',
    safePattern: 'CREATE INDEX CONCURRENTLY in a migration of its own with transaction: false (a .sql file: -- transaction: false)',
  },
  'foreign-key-validated-in-place': {
    level: 'warning',
    databases: 'postgres',
    why: 'adding a validated foreign key scans the table while holding a lock that blocks writes to it and to the table it references',
    safePattern: 'ADD CONSTRAINT ... NOT VALID in one migration, VALIDATE CONSTRAINT in the next (it takes a weaker lock)',
  },
  'set-not-null-scan': {
    level: 'warning',
    databases: 'postgres',
    why: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no writes) unless a validated CHECK (column IS NOT NULL) proves it',
    safePattern: 'ADD CONSTRAINT ... CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (no scan), then drop the check',
  },
  'volatile-default': {
    level: 'warning',
    databases: 'postgres',
    why: 'a column added with a volatile default (random(), gen_random_uuid(), clock_timestamp()) rewrites the table under an ACCESS EXCLUSIVE lock',
    safePattern: 'add the column without a default (or with a constant one), set the default afterwards, backfill existing rows in batches',
  },
  'table-rewrite': {
    level: 'error',
    databases: 'postgres',
    why: 'the table was rewritten (a type change, SET TABLESPACE, VACUUM FULL, CLUSTER): no reads or writes for as long as copying every row takes',
    safePattern:
      'add a new column of the new type and backfill it in batches, or use a type change PostgreSQL does without a rewrite (varchar(n) to a larger n or to text)',
  },
  'long-exclusive-lock': {
    level: 'error',
    databases: 'postgres',
    why: 'the rehearsal held an ACCESS EXCLUSIVE lock on the table (no reads, no writes) longer than the threshold: the application waits as long in production, or longer with more data',
    safePattern: 'split the migration so each exclusive lock is short; move data changes out of the DDL transaction and batch them',
  },
};

export function isRuleId(value: unknown): value is RuleId {
  return typeof value === 'string' && (RULE_IDS as readonly string[]).includes(value);
}

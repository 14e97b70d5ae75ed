import type { Finding } from './finding';
import { RULES, type RuleId } from './rules';
import type { ColumnShape, IndexShape, RelationLock, SchemaSnapshot, TableShape } from './schema-snapshot';

/** A statement of the migration as the rehearsal ran it. */
export interface RehearsedStatement {
  readonly sql: string;
  /** From its start to the next statement's start (or to the end of `up()`). */
  readonly durationMs: number;
  /** Table locks held after it (PostgreSQL); absent when not watched. */
  readonly locks?: readonly RelationLock[];
}

/** Rows that a failed migration's constraint found on the rehearsal, counted after it was rolled back. */
export interface ConstraintViolation {
  readonly rule: 'add-not-null' | 'add-unique';
  readonly table: string;
  readonly columns: readonly string[];
  readonly rows: number;
}

/** Everything the rehearsal learnt about one migration: the facts the rules read. */
export interface RehearsedMigration {
  readonly name: string;
  readonly dialect: 'sqlite' | 'postgres';
  /** Rule ids the migration acknowledges. */
  readonly allow: readonly string[];
  readonly before: SchemaSnapshot;
  /** The schema after it; null when it failed (the rehearsal rolled it back). */
  readonly after: SchemaSnapshot | null;
  readonly rowsBefore: ReadonlyMap<string, number>;
  readonly rowsAfter: ReadonlyMap<string, number>;
  readonly statements: readonly RehearsedStatement[];
  /**
   * Table locks the rehearsal held before the migration began (PostgreSQL: its one transaction keeps
   * the earlier migrations' locks): not this migration's.
   */
  readonly locksBefore?: readonly RelationLock[];
  /**
   * Tables that earlier migrations of the same pending set created: new to everyone (no release
   * uses them yet, no traffic), so nothing done to them is a finding either.
   */
  readonly newTables?: readonly string[];
  /** From the start of `up()` to the end of its transaction (its locks are held until then). */
  readonly durationMs: number;
  /** What its failure revealed, when it failed on a constraint. */
  readonly violation: ConstraintViolation | null;
}

export interface AnalysisOptions {
  /** `long-exclusive-lock` fires when the rehearsal held an ACCESS EXCLUSIVE lock longer than this. */
  readonly longLockMs: number;
}

/**
 * The findings for one migration: its schema before and after on the rehearsal, compared, plus
 * what its statements and locks show. Pure. Tables the migration created are new to everyone:
 * nothing done to them is a finding.
 */
export function analyzeMigration(analysed: RehearsedMigration, options: AnalysisOptions): Finding[] {
  const rehearsed = withoutNewTables(analysed);
  const found = new Findings(rehearsed);
  const { before, after } = rehearsed;
  if (rehearsed.violation) found.violation(rehearsed.violation);
  if (after === null) return found.list;

  const same = sameName(rehearsed.dialect);
  const renamedTables = tableRenames(rehearsed.statements);
  for (const [name, table] of before.tables) {
    const now = after.tables.get(name);
    if (now === undefined) {
      const rename = renamedTables.find((r) => same(r.from, name) && [...after.tables.keys()].some((t) => same(t, r.to)));
      if (rename) found.add('rename-table', name, rename.sql, `renames table ${name} to ${rename.to}`);
      else
        found.add(
          'drop-table',
          name,
          statementMentioning(rehearsed.statements, /\bDROP\s+TABLE\b/i, name),
          dropTableMessage(name, rehearsed.rowsBefore.get(name)),
          rehearsed.rowsBefore.get(name) ?? null,
        );
      continue;
    }
    const dropped = droppedAndCreatedAgain(rehearsed.statements, name, same);
    if (dropped) {
      found.add(
        'drop-table',
        name,
        dropped,
        dropTableMessage(name, rehearsed.rowsBefore.get(name)) + ', then creates a new table under its name',
        rehearsed.rowsBefore.get(name) ?? null,
      );
      continue;
    }
    compareTable(found, rehearsed, table, now);
  }
  if (rehearsed.dialect === 'postgres') {
    indexesBuiltInPlace(found, rehearsed, after);
    longExclusiveLocks(found, rehearsed, options.longLockMs);
  }
  return found.list;
}

/** The migration as if the tables the pending set created before it did not exist yet. */
function withoutNewTables(rehearsed: RehearsedMigration): RehearsedMigration {
  const fresh = new Set(rehearsed.newTables ?? []);
  if (fresh.size === 0) return rehearsed;
  const tables = new Map([...rehearsed.before.tables].filter(([name]) => !fresh.has(name)));
  return { ...rehearsed, before: { ...rehearsed.before, tables } };
}

function compareTable(found: Findings, rehearsed: RehearsedMigration, table: TableShape, now: TableShape): void {
  const { name } = table;
  const same = sameName(rehearsed.dialect);
  const renamedColumns = columnRenames(rehearsed.statements, name, same);
  for (const column of table.columns) {
    const after = now.columns.find((c) => c.name === column.name);
    const rename = renamedColumns.find((r) => same(r.from, column.name) && now.columns.some((c) => same(c.name, r.to)));
    // Renamed, even when a column under the old name was added back: the old release reads that one.
    if (rename) {
      found.add('rename-column', `${name}.${column.name}`, rename.sql, `renames column ${name}.${column.name} to ${rename.to}`);
      continue;
    }
    const droppedAgain = after === undefined ? null : droppedColumnStatement(rehearsed.statements, name, column.name, same);
    if (droppedAgain) {
      found.add(
        'drop-column',
        `${name}.${column.name}`,
        droppedAgain,
        `drops column ${name}.${column.name}${rowsClause(rehearsed.rowsBefore.get(name), 'value')}, then adds a new column under its name`,
        rehearsed.rowsBefore.get(name) ?? null,
      );
      continue;
    }
    if (after === undefined) {
      found.add(
        'drop-column',
        `${name}.${column.name}`,
        statementMentioning(rehearsed.statements, /\bDROP\s+(COLUMN\s+)?/i, column.name),
        `drops column ${name}.${column.name}${rowsClause(rehearsed.rowsBefore.get(name), 'value')}`,
        rehearsed.rowsBefore.get(name) ?? null,
      );
      continue;
    }
    // PostgreSQL widens varchar(n) to a larger n or to text without a rewrite, and old values still fit.
    const widened = rehearsed.dialect === 'postgres' && table.storage === now.storage && widens(column.type, after.type);
    if (normalType(after.type) !== normalType(column.type) && !widened) {
      found.add(
        'change-column-type',
        `${name}.${column.name}`,
        statementMentioning(rehearsed.statements, /\bTYPE\b|\bCREATE\s+TABLE\b/i, column.name),
        `changes the type of ${name}.${column.name} from ${column.type} to ${after.type}`,
      );
    }
    if (!column.notNull && after.notNull && !column.primaryKey) {
      const statement = statementMentioning(rehearsed.statements, /\bNOT\s+NULL\b/i, column.name);
      found.add('add-not-null', `${name}.${column.name}`, statement, `makes ${name}.${column.name} NOT NULL; no row violates it on the rehearsal`, 0);
      if (rehearsed.dialect === 'postgres' && !provenNotNull(table, column)) {
        found.add(
          'set-not-null-scan',
          `${name}.${column.name}`,
          statement,
          `SET NOT NULL on ${name}.${column.name} scans ${rowsOf(rehearsed.rowsBefore.get(name))} under an ACCESS EXCLUSIVE lock`,
        );
      }
    }
  }
  for (const column of now.columns) {
    if (table.columns.some((c) => c.name === column.name) || renamedColumns.some((r) => r.to === column.name)) continue;
    if (rehearsed.dialect === 'postgres' && column.default !== null && table.storage !== null && now.storage !== table.storage) {
      found.add(
        'volatile-default',
        `${name}.${column.name}`,
        statementMentioning(rehearsed.statements, /\bADD\b/i, column.name),
        `adds ${name}.${column.name} with the default ${column.default}, which rewrote the table`,
      );
    }
  }
  addedUniques(found, rehearsed, table, now);
  droppedIndexes(found, rehearsed, table, now);
  if (rehearsed.dialect === 'postgres') {
    rewritten(found, rehearsed, table, now);
    foreignKeysValidatedInPlace(found, rehearsed, table, now);
  }
  const rowsBefore = rehearsed.rowsBefore.get(name);
  const rowsAfter = rehearsed.rowsAfter.get(name);
  if (rowsBefore !== undefined && rowsAfter !== undefined && rowsAfter < rowsBefore) {
    found.add(
      'rows-deleted',
      name,
      statementMentioning(rehearsed.statements, /\bDELETE\b|\bTRUNCATE\b/i, name),
      `deletes ${rowsBefore - rowsAfter} of the ${rowsBefore} rows of ${name} on the rehearsal`,
      rowsBefore - rowsAfter,
    );
  }
}

function addedUniques(found: Findings, rehearsed: RehearsedMigration, table: TableShape, now: TableShape): void {
  for (const index of now.indexes) {
    if (!index.unique || index.partial) continue;
    if (table.indexes.some((old) => old.unique && !old.partial && sameColumns(old, index))) continue;
    // On columns the migration added (all NULL, written by no release yet): nothing can clash.
    if (index.columns.every((c) => !table.columns.some((column) => column.name === c))) continue;
    const object = `${table.name}(${index.columns.join(', ')})`;
    found.add(
      'add-unique',
      object,
      statementMentioning(rehearsed.statements, /\bUNIQUE\b/i, index.name),
      `adds a unique index on ${object}; no duplicates on the rehearsal`,
      0,
    );
  }
}

function droppedIndexes(found: Findings, rehearsed: RehearsedMigration, table: TableShape, now: TableShape): void {
  for (const index of table.indexes) {
    if (index.constraint && index.columns.every((c) => !now.columns.some((column) => column.name === c))) continue;
    if (now.indexes.some((i) => i.name === index.name || (sameColumns(i, index) && i.unique === index.unique))) continue;
    // A dropped column takes its indexes with it: that is the drop-column finding.
    if (index.columns.some((c) => !now.columns.some((column) => column.name === c))) continue;
    found.add(
      'drop-index',
      index.name,
      statementMentioning(rehearsed.statements, /\bDROP\s+INDEX\b/i, index.name),
      `drops index ${index.name} on ${table.name}(${index.columns.join(', ')})`,
    );
  }
}

function rewritten(found: Findings, rehearsed: RehearsedMigration, table: TableShape, now: TableShape): void {
  if (table.storage === null || now.storage === null || table.storage === now.storage) return;
  // A volatile default explains a rewrite on its own; say it once, under that rule.
  if (found.list.some((f) => f.rule === 'volatile-default' && f.object.startsWith(`${table.name}.`))) return;
  const retyped = table.columns.filter((c) => {
    const after = now.columns.find((a) => a.name === c.name);
    return after !== undefined && normalType(after.type) !== normalType(c.type);
  });
  const what = retyped.length > 0 ? `changing the type of ${retyped.map((c) => c.name).join(', ')} ` : '';
  found.add(
    'table-rewrite',
    table.name,
    retyped.length > 0 ? statementMentioning(rehearsed.statements, /\bTYPE\b/i, retyped[0].name) : null,
    `${what}rewrote table ${table.name} (${rowsOf(rehearsed.rowsBefore.get(table.name))}) on the rehearsal`.replace(/^./, (c) => c.toUpperCase()),
  );
}

function foreignKeysValidatedInPlace(found: Findings, rehearsed: RehearsedMigration, table: TableShape, now: TableShape): void {
  for (const key of now.foreignKeys) {
    if (!key.validated) continue;
    const existed = table.foreignKeys.some((old) =>
      key.name !== null ? old.name === key.name : sameList(old.columns, key.columns) && old.references === key.references,
    );
    if (existed) continue;
    const object = key.name ?? `${table.name}(${key.columns.join(', ')})`;
    found.add(
      'foreign-key-validated-in-place',
      object,
      statementMentioning(rehearsed.statements, /\bREFERENCES\b/i, key.references),
      `adds a validated foreign key ${object} → ${key.references} to a table that exists (no NOT VALID)`,
    );
  }
}

/** CREATE INDEX without CONCURRENTLY on a table that existed before the migration. */
function indexesBuiltInPlace(found: Findings, rehearsed: RehearsedMigration, after: SchemaSnapshot): void {
  const createIndex =
    /(?:^|;)\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(?:IF\s+NOT\s+EXISTS\s+)?("?[\w$]*"?\s+)?ON\s+(?:ONLY\s+)?((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)/gi;
  for (const { sql } of rehearsed.statements) {
    // A class may send several statements in one query(): each CREATE INDEX counts.
    for (const match of stripComments(sql).matchAll(createIndex)) {
      const table = unqualified(match[2]);
      if (!rehearsed.before.tables.has(table) || !after.tables.has(table)) continue;
      const index = match[1]?.trim().replace(/"/g, '') || `an index on ${table}`;
      found.add('index-not-concurrent', index, sql, `builds ${index} on ${table} (${rowsOf(rehearsed.rowsBefore.get(table))}) without CONCURRENTLY`);
    }
  }
}

/** Each table that stayed under an ACCESS EXCLUSIVE lock from the statement that took it to the end of the migration's transaction, for longer than the threshold. */
function longExclusiveLocks(found: Findings, rehearsed: RehearsedMigration, thresholdMs: number): void {
  let startedAt = 0;
  const seen = new Set((rehearsed.locksBefore ?? []).filter((lock) => lock.mode === 'AccessExclusiveLock').map((lock) => lock.table));
  for (const statement of rehearsed.statements) {
    for (const lock of statement.locks ?? []) {
      if (lock.mode !== 'AccessExclusiveLock' || seen.has(lock.table)) continue;
      seen.add(lock.table);
      if (!rehearsed.before.tables.has(lock.table)) continue;
      const heldMs = Math.round(rehearsed.durationMs - startedAt);
      if (heldMs > thresholdMs) {
        found.add(
          'long-exclusive-lock',
          lock.table,
          statement.sql,
          `holds an ACCESS EXCLUSIVE lock on ${lock.table} for ${heldMs} ms on the rehearsal (threshold ${thresholdMs} ms)`,
          null,
          heldMs,
        );
      }
    }
    startedAt += statement.durationMs;
  }
}

/** Collects findings for one migration, marking the ones it acknowledges. */
class Findings {
  readonly list: Finding[] = [];

  constructor(private readonly rehearsed: RehearsedMigration) {}

  add(rule: RuleId, object: string, statement: string | null, message: string, rows: number | null = null, lockMs: number | null = null): void {
    const { level, why, safePattern } = RULES[rule];
    this.list.push({
      rule,
      level,
      migration: this.rehearsed.name,
      object,
      statement: statement === null ? null : withoutLeadingComments(statement),
      accepted: this.rehearsed.allow.includes(rule),
      message,
      why,
      safePattern,
      rows,
      lockMs,
    });
  }

  violation({ rule, table, columns, rows }: ConstraintViolation): void {
    const object = rule === 'add-not-null' ? `${table}.${columns[0]}` : `${table}(${columns.join(', ')})`;
    const what =
      rule === 'add-not-null'
        ? `${rows} row${rows === 1 ? '' : 's'} of ${table} hold NULL in ${columns[0]}`
        : `${rows} duplicate row${rows === 1 ? '' : 's'} in ${object}`;
    this.add(rule, object, null, `fails on the rehearsal: ${what}`, rows);
  }
}

function dropTableMessage(name: string, rows: number | undefined): string {
  return `drops table ${name}${rowsClause(rows, 'row')}`;
}

function rowsClause(rows: number | undefined, noun: string): string {
  return rows === undefined ? '' : ` (${rows} ${noun}${rows === 1 ? '' : 's'} on the rehearsal)`;
}

function rowsOf(rows: number | undefined): string {
  return rows === undefined ? 'every row' : `${rows} row${rows === 1 ? '' : 's'}`;
}

/** A validated CHECK (column IS NOT NULL) lets PostgreSQL skip the scan of SET NOT NULL. */
function provenNotNull(table: TableShape, column: ColumnShape): boolean {
  const pattern = new RegExp(`^\\(*"?${escapeRegExp(column.name)}"?\\s+IS\\s+NOT\\s+NULL\\)*$`, 'i');
  return table.checks.some((check) => check.validated && pattern.test(check.expression.trim()));
}

function sameColumns(a: IndexShape, b: IndexShape): boolean {
  return sameList(a.columns, b.columns);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Types compared as the catalog spells them, case and spacing aside. */
function normalType(type: string): string {
  return type.trim().replace(/\s+/g, ' ').toLowerCase();
}

export interface Rename {
  readonly from: string;
  readonly to: string;
  readonly sql: string;
}

const NAME = '(?:"[^"]+"|`[^`]+`|\\[[^\\]]+\\]|[\\w$]+)';
const IDENT = `(${NAME}(?:\\.${NAME})?)`;

/** `ALTER TABLE a RENAME TO b`, as the statements say it. */
export function tableRenames(statements: readonly RehearsedStatement[]): Rename[] {
  const pattern = new RegExp(`ALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?(?:ONLY\\s+)?${IDENT}\\s+RENAME\\s+TO\\s+${IDENT}`, 'gi');
  return statements.flatMap(({ sql }) => [...stripComments(sql).matchAll(pattern)].map((m) => ({ from: unqualified(m[1]), to: unqualified(m[2]), sql })));
}

/** `ALTER TABLE t RENAME [COLUMN] a TO b` on this table. */
function columnRenames(statements: readonly RehearsedStatement[], table: string, same: SameName): Rename[] {
  const pattern = new RegExp(`ALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?(?:ONLY\\s+)?${IDENT}\\s+RENAME\\s+(?:COLUMN\\s+)?${IDENT}\\s+TO\\s+${IDENT}`, 'gi');
  return statements.flatMap(({ sql }) =>
    [...stripComments(sql).matchAll(pattern)]
      .filter((m) => same(unqualified(m[1]), table))
      .map((m) => ({ from: unqualified(m[2]), to: unqualified(m[3]), sql })),
  );
}

/** The first statement matching `pattern` that names `name`; null when none does (the change came from elsewhere, a rebuild say). */
function statementMentioning(statements: readonly RehearsedStatement[], pattern: RegExp, name: string): string | null {
  const named = new RegExp(`(^|[^\\w$])"?${escapeRegExp(name)}"?($|[^\\w$])`, 'i');
  return statements.find(({ sql }) => pattern.test(sql) && named.test(sql))?.sql ?? null;
}

/** `"Users"` → `Users`, `public.users` → `users`, `Users` → `users` (an unquoted name folds to lower case on PostgreSQL; SQLite compares without case: see `sameName`). */
function unqualified(identifier: string): string {
  const last = identifier.match(/(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)$/)?.[0] ?? identifier;
  return /^["`[]/.test(last) ? last.slice(1, -1) : last.toLowerCase();
}

export type SameName = (a: string, b: string) => boolean;

/** How the database compares names: SQLite without case, PostgreSQL exactly (after folding unquoted names). */
export function sameName(dialect: RehearsedMigration['dialect']): SameName {
  return dialect === 'sqlite' ? (a, b) => a.toLowerCase() === b.toLowerCase() : (a, b) => a === b;
}

/**
 * The `DROP TABLE` of a table that exists again after the migration, when no statement copied its
 * rows first (`INSERT INTO ... SELECT ... FROM t`: a rebuild keeps them): its data is gone.
 */
function droppedAndCreatedAgain(statements: readonly RehearsedStatement[], table: string, same: SameName): string | null {
  const drop = new RegExp(`\\bDROP\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?${IDENT}`, 'gi');
  const copy = new RegExp(`\\bINSERT\\s+INTO\\b[^;]*?\\bFROM\\s+${IDENT}`, 'gi');
  const dropped = statements.find(({ sql }) => [...stripComments(sql).matchAll(drop)].some((m) => same(unqualified(m[1]), table)));
  if (!dropped) return null;
  const copied = statements.some(({ sql }) => [...stripComments(sql).matchAll(copy)].some((m) => same(unqualified(m[1]), table)));
  return copied ? null : dropped.sql;
}

/** The `ALTER TABLE t DROP [COLUMN] c` of a column that exists again after the migration. */
function droppedColumnStatement(statements: readonly RehearsedStatement[], table: string, column: string, same: SameName): string | null {
  const drop = new RegExp(`ALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?(?:ONLY\\s+)?${IDENT}[^;]*?\\bDROP\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?${IDENT}`, 'gi');
  return (
    statements.find(({ sql }) => [...stripComments(sql).matchAll(drop)].some((m) => same(unqualified(m[1]), table) && same(unqualified(m[2]), column)))?.sql ??
    null
  );
}

/** `character varying(20)` → `character varying(40)` or `text`: every old value fits, nothing is rewritten. */
function widens(from: string, to: string): boolean {
  const length = (type: string) => /^character varying\((\d+)\)$/.exec(normalType(type))?.[1];
  const old = length(from);
  if (old === undefined) return false;
  if (normalType(to) === 'text' || normalType(to) === 'character varying') return true;
  const now = length(to);
  return now !== undefined && Number(now) >= Number(old);
}

/** A SQL file's first statement carries the file's header comments: the finding shows the statement. */
function withoutLeadingComments(sql: string): string {
  return sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

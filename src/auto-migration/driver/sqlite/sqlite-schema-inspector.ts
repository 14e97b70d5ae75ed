import type { Database, Statement } from 'better-sqlite3';
import type { CheckShape, ColumnShape, ForeignKeyShape, IndexShape, SchemaInspector, SchemaSnapshot, TableShape } from '../../safety/schema-snapshot';

/**
 * The module's own tables (see `sqlite-schema.ts`), left out with their indexes and triggers.
 * Lower case: SQLite compares names without case, so `Migrations` would be the same table.
 */
const OWN_TABLES: ReadonlySet<string> = new Set(['migrations', 'migrations_archive', 'migration_lock', 'migration_meta', 'migration_attempts']);

/** What an index column without a name is: an expression (`lower(email)`), which the catalog does not spell out. */
const EXPRESSION_COLUMN = '(expression)';

/** Runs a group of the inspector's reads; see the constructor. */
export type InspectorReads = <T>(read: () => T) => T;

/**
 * Reads the schema and data of a SQLite database (the rehearsal's copy) for the safety analysis,
 * from `sqlite_schema` and the table PRAGMAs (`pragma_table_list`, `pragma_table_xinfo`,
 * `pragma_index_list`, `pragma_index_info`, `pragma_foreign_key_list`). The `main` database only:
 * temporary and attached databases are not the application's schema. Reads only.
 *
 * What SQLite does not keep, or keeps differently from PostgreSQL:
 * - `storage` is null: nothing tells a rewritten table from one left in place.
 * - An `INTEGER PRIMARY KEY` is the rowid itself and has no index, so it lists none; other primary
 *   keys and UNIQUE constraints list theirs (`sqlite_autoindex_<table>_<n>`, `constraint: true`).
 * - Foreign keys have no name and are always `validated` (SQLite has no NOT VALID).
 * - CHECK constraints have no catalog: they are read from the CREATE TABLE text (`checksIn`).
 * - Generated columns are listed (they are columns a query reads); the hidden columns of virtual
 *   tables (FTS5's `rank`) are not. A virtual table's shadow tables (its storage) are left out.
 *
 * The reads run on the connection they are given. On the rehearsal that is the copy's own
 * connection (so they see what a migration left, in its transaction or not), whose statements are
 * captured as the migration's: the rehearsal passes `reads` that pause that capture, so the
 * inspector's reads never show up among a migration's statements, whenever it is called.
 */
export class SqliteSchemaInspector implements SchemaInspector {
  /**
   * @param db the connection to read through
   * @param reads wraps each group of reads, which runs synchronously inside it
   */
  constructor(
    private readonly db: Database,
    private readonly reads: InspectorReads = (read) => read(),
  ) {}

  private readonly prepared = new Map<string, Statement>();

  snapshot(): Promise<SchemaSnapshot> {
    return this.run(() => this.readSnapshot());
  }

  countRows(tables: readonly string[]): Promise<Map<string, number>> {
    return this.run(() => new Map(tables.map((table) => [table, this.count(`SELECT COUNT(*) AS n FROM ${quote(table)}`)])));
  }

  countNulls(table: string, column: string): Promise<number> {
    return this.run(() => this.count(`SELECT COUNT(*) AS n FROM ${quote(table)} WHERE ${quote(column)} IS NULL`));
  }

  countDuplicates(table: string, columns: readonly string[]): Promise<number> {
    // COUNT(DISTINCT) takes one expression in SQLite: count the rows beyond the first of each group instead.
    // NULLs are left out as a unique index leaves them out (two NULLs are not equal).
    const quoted = columns.map(quote);
    return this.run(() =>
      this.count(
        `SELECT COALESCE(SUM(n - 1), 0) AS n FROM (SELECT COUNT(*) AS n FROM ${quote(table)} ` +
          `WHERE ${quoted.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ${quoted.join(', ')} HAVING COUNT(*) > 1)`,
      ),
    );
  }

  /**
   * A prepared statement, kept for the copy's life: a snapshot runs the same few PRAGMA reads for
   * every table, before and after every migration. The statements' text never holds a name (names
   * are bound), except the counts', which are prepared again each time.
   */
  private statement(sql: string): Statement {
    let prepared = this.prepared.get(sql);
    if (!prepared) this.prepared.set(sql, (prepared = this.db.prepare(sql)));
    return prepared;
  }

  /** A failed read becomes a rejected promise, as the interface's callers expect. */
  private run<T>(read: () => T): Promise<T> {
    return new Promise<T>((resolve) => resolve(this.reads(read)));
  }

  private count(sql: string): number {
    return (this.db.prepare(sql).get() as { n: number }).n;
  }

  private readSnapshot(): SchemaSnapshot {
    const listed = this.db
      .prepare(
        `SELECT l.name, l.type, s.sql FROM pragma_table_list AS l JOIN main.sqlite_schema AS s ON s.type = 'table' AND s.name = l.name
         WHERE l.schema = 'main' AND l.type IN ('table', 'virtual') ORDER BY l.name`,
      )
      .all() as { name: string; type: 'table' | 'virtual'; sql: string }[];
    const ours = listed.filter((t) => !isInternal(t.name));
    // A foreign key names its parent as it was written; the catalog's spelling is the table's own.
    const spelling = new Map(listed.map((t) => [t.name.toLowerCase(), t.name]));
    const tables = new Map<string, TableShape>();
    for (const { name, type, sql } of ours) {
      const columns = this.columnsOf(name, type);
      // The copy's connection lacks an extension the application loads: the analysis cannot read
      // that table, and a migration that touches it fails on the rehearsal anyway.
      if (columns === null) continue;
      tables.set(name, {
        name,
        columns,
        indexes: this.indexesOf(name),
        foreignKeys: this.foreignKeysOf(name, spelling),
        checks: type === 'table' ? checksIn(sql) : [],
        storage: null,
      });
    }
    const others = this.db
      .prepare(`SELECT type, name, tbl_name AS "table", sql FROM main.sqlite_schema WHERE type IN ('view', 'trigger') ORDER BY name`)
      .all() as {
      type: 'view' | 'trigger';
      name: string;
      table: string;
      sql: string;
    }[];
    const views = new Map(others.filter((o) => o.type === 'view').map((o) => [o.name, o.sql]));
    const triggers = new Map(others.filter((o) => o.type === 'trigger' && !isInternal(o.table)).map((o) => [o.name, o.table]));
    return { tables, views, triggers };
  }

  /** Null for a virtual table whose module this connection does not have. */
  private columnsOf(table: string, type: 'table' | 'virtual'): ColumnShape[] | null {
    let rows: { name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number }[];
    try {
      rows = this.statement(`SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?, 'main') ORDER BY cid`).all(table) as typeof rows;
    } catch (error) {
      if (type === 'virtual' && /^no such module/.test((error as Error).message)) return null;
      throw error;
    }
    // hidden: 1 = a virtual table's hidden column, 2 and 3 = generated (virtual, stored).
    return rows
      .filter((c) => c.hidden !== 1)
      .map((c) => ({ name: c.name, type: c.type, notNull: c.notnull === 1, default: c.dflt_value, primaryKey: c.pk > 0 }));
  }

  private indexesOf(table: string): IndexShape[] {
    const list = this.statement(`SELECT name, "unique", origin, partial FROM pragma_index_list(?, 'main') ORDER BY name`).all(table) as {
      name: string;
      unique: number;
      origin: 'c' | 'u' | 'pk';
      partial: number;
    }[];
    const info = this.statement(`SELECT name FROM pragma_index_info(?, 'main') ORDER BY seqno`);
    return list.map((index) => ({
      name: index.name,
      columns: (info.all(index.name) as { name: string | null }[]).map((c) => c.name ?? EXPRESSION_COLUMN),
      unique: index.unique === 1,
      constraint: index.origin !== 'c',
      partial: index.partial === 1,
    }));
  }

  private foreignKeysOf(table: string, spelling: ReadonlyMap<string, string>): ForeignKeyShape[] {
    const rows = this.statement(`SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?, 'main') ORDER BY id, seq`).all(table) as {
      id: number;
      table: string;
      from: string;
      to: string | null;
    }[];
    const keys = new Map<number, typeof rows>();
    for (const row of rows) keys.set(row.id, [...(keys.get(row.id) ?? []), row]);
    return [...keys.values()].map((parts) => {
      const parent = spelling.get(parts[0].table.toLowerCase()) ?? parts[0].table;
      const named = parts.flatMap((p) => (p.to === null ? [] : [p.to]));
      return {
        name: null,
        columns: parts.map((p) => p.from),
        references: parent,
        // `REFERENCES parent` without columns means the parent's primary key.
        referencedColumns: named.length === parts.length ? named : this.primaryKeyOf(parent),
        validated: true,
      };
    });
  }

  /** In key order; empty when the table does not exist. */
  private primaryKeyOf(table: string): string[] {
    const rows = this.statement(`SELECT name FROM pragma_table_xinfo(?, 'main') WHERE pk > 0 ORDER BY pk`).all(table) as { name: string }[];
    return rows.map((r) => r.name);
  }
}

/** SQLite's own tables (`sqlite_sequence`, `sqlite_stat1`) and the module's. */
function isInternal(table: string): boolean {
  const lower = table.toLowerCase();
  return lower.startsWith('sqlite_') || OWN_TABLES.has(lower);
}

/** A double-quoted identifier: any name, spaces, quotes and keywords included. */
function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface Token {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/**
 * The CHECK constraints of a CREATE TABLE statement, column and table constraints alike, each
 * with its `CONSTRAINT name` if it has one and its expression in parentheses as written. SQLite
 * keeps no catalog of them, only the statement's text (which ALTER TABLE edits in place). CHECK
 * is a reserved word: unquoted and followed by a parenthesis, it can only start a constraint;
 * strings, quoted names and comments are read whole so that a CHECK inside them is not taken.
 */
function checksIn(sql: string): CheckShape[] {
  const tokens = tokenize(sql);
  const checks: CheckShape[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].text.toUpperCase() !== 'CHECK' || tokens[i + 1]?.text !== '(') continue;
    const end = closingParenthesis(tokens, i + 1);
    if (end < 0) break;
    const named = i >= 2 && tokens[i - 2].text.toUpperCase() === 'CONSTRAINT';
    checks.push({ name: named ? unquote(tokens[i - 1].text) : null, expression: sql.slice(tokens[i + 1].start, tokens[end].end), validated: true });
    i = end;
  }
  return checks;
}

/** SQLite's lexical rules, as far as finding constraints needs them; whitespace and comments dropped. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    let end: number;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      i = endOf(sql, '\n', i + 2);
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      i = endOf(sql, '*/', i + 2);
      continue;
    }
    if (c === "'" || c === '"' || c === '`') end = quotedEnd(sql, i, c);
    else if (c === '[') end = endOf(sql, ']', i + 1);
    else if (isWordChar(c)) {
      end = i;
      while (end < sql.length && isWordChar(sql[end])) end++;
    } else end = i + 1;
    tokens.push({ text: sql.slice(i, end), start: i, end });
    i = end;
  }
  return tokens;
}

/** Index of the `)` matching the `(` at `open`; -1 when the text ends first. */
function closingParenthesis(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].text === '(') depth++;
    else if (tokens[i].text === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Just past the quote closing the one at `at` (a doubled quote stays inside). */
function quotedEnd(sql: string, at: number, quote: string): number {
  for (let i = at + 1; i < sql.length; i++) {
    if (sql[i] !== quote) continue;
    if (sql[i + 1] === quote) i++;
    else return i + 1;
  }
  return sql.length;
}

function endOf(sql: string, end: string, from: number): number {
  const at = sql.indexOf(end, from);
  return at < 0 ? sql.length : at + end.length;
}

function isWordChar(c: string): boolean {
  return /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;
}

/** A name as written (`"my check"`, `[x]`, `` `x` ``, `'x'`, `x`) → the name. */
function unquote(text: string): string {
  const open = text[0];
  if (open === '[') return text.slice(1, -1);
  if (open === '"' || open === '`' || open === "'")
    return text
      .slice(1, -1)
      .split(open + open)
      .join(open);
  return text;
}

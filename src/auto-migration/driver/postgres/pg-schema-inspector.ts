import type { ClientBase } from 'pg';
import type {
  CheckShape,
  ColumnShape,
  ForeignKeyShape,
  IndexShape,
  RelationLock,
  SchemaInspector,
  SchemaSnapshot,
  TableShape,
} from '../../safety/schema-snapshot';
import { quoteIdentifier, REQUIRED_COLUMNS } from './pg-schema';

/** The module's own tables (see `pg-schema.ts`), left out with their indexes, constraints and triggers. */
const OWN_TABLES: readonly string[] = Object.keys(REQUIRED_COLUMNS);

/** What an index column without a name is (`lower(email)`): spelt as on SQLite, so that rules read both alike. */
const EXPRESSION_COLUMN = '(expression)';

/**
 * The user's tables of the schema (`$1`), ordinary and partitioned, without the module's (`$2`).
 * Each catalog query below starts from it, so that a snapshot costs a fixed number of queries
 * however many tables there are.
 */
const TABLES = `WITH t AS (
  SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> ALL ($2::text[])
)`;

const TABLE_ROWS = `${TABLES} SELECT t.relname AS name, c.relfilenode::text AS storage FROM t JOIN pg_class c ON c.oid = t.oid ORDER BY t.relname`;

// A NOT NULL constraint added NOT VALID (PostgreSQL 18) sets attnotnull without checking the rows
// already there: the column is NOT NULL once the constraint is validated. A generated column's
// expression is kept in pg_attrdef too; it is not a default.
const COLUMN_ROWS = `${TABLES}
SELECT t.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
  a.attnotnull AND NOT EXISTS (
    SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'n' AND NOT k.convalidated AND a.attnum = ANY (k.conkey)
  ) AS "notNull",
  CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS "default",
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p' AND a.attnum = ANY (k.conkey)) AS "primaryKey"
FROM t JOIN pg_attribute a ON a.attrelid = t.oid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY t.relname, a.attnum`;

// Key columns only (an INCLUDE column takes no part in uniqueness); 0 in indkey is an expression.
const INDEX_ROWS = `${TABLES}
SELECT t.relname AS "table", ic.relname AS name, i.indisunique AS "unique", i.indpred IS NOT NULL AS partial,
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = t.oid AND k.contype IN ('p', 'u', 'x')) AS "constraint",
  ARRAY(
    SELECT COALESCE(a.attname::text, '${EXPRESSION_COLUMN}') FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum <> 0
    WHERE k.position <= i.indnkeyatts ORDER BY k.position
  ) AS columns
FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
ORDER BY t.relname, ic.relname`;

// A parent in another schema is named with its schema; one in this schema by its name alone, as the snapshot names tables.
const CONSTRAINT_ROWS = `${TABLES}
SELECT t.relname AS "table", k.conname AS name, k.contype AS kind, k.convalidated AS validated,
  CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) END AS expression,
  ARRAY(
    SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS c(attnum, position)
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.attnum ORDER BY c.position
  ) AS columns,
  CASE WHEN rn.nspname = $1 THEN r.relname::text ELSE rn.nspname || '.' || r.relname END AS "references",
  ARRAY(
    SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS c(attnum, position)
    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = c.attnum ORDER BY c.position
  ) AS "referencedColumns"
FROM t JOIN pg_constraint k ON k.conrelid = t.oid
LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE k.contype IN ('f', 'c')
ORDER BY t.relname, k.conname`;

const VIEW_ROWS = `SELECT c.relname AS name, pg_get_viewdef(c.oid, true) AS definition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('v', 'm') ORDER BY c.relname`;

// Internal triggers are PostgreSQL's own (those behind foreign keys); triggers on views count.
const TRIGGER_ROWS = `SELECT g.tgname AS name, c.relname AS "table"
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND NOT g.tgisinternal AND c.relname <> ALL ($2::text[]) ORDER BY g.tgname`;

const LOCK_ROWS = `SELECT c.relname AS "table", l.mode
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> ALL ($2::text[])
ORDER BY c.relname, l.mode`;

type Row<T> = T & { readonly table: string };

/** A foreign key (`f`) or a check (`c`), with the fields of both. */
interface ConstraintRow extends Omit<ForeignKeyShape, 'name'> {
  readonly table: string;
  readonly name: string;
  readonly kind: 'f' | 'c';
  readonly expression: string | null;
}

/**
 * Reads the schema and data of a PostgreSQL database for the safety analysis, from `pg_catalog`:
 * the migrations' schema only (the one the options name, first on the migrations' search path),
 * its ordinary and partitioned tables without the module's own. Reads only.
 *
 * On the rehearsal it reads through the dry run's session, inside its transaction, so it sees
 * what the migrations did so far; it must be given the session's own client, not the connection
 * `up(db)` receives, so that its queries are not captured as a migration's. Its row counts take
 * `ACCESS SHARE` locks on the counted tables, and a snapshot on the tables views read (reading a
 * view's definition locks them), held, like the migrations' locks, until the dry run's transaction
 * ends: they show in `locksHeld()` after it.
 *
 * Where PostgreSQL differs from the driver-neutral shapes:
 * - `storage` is `relfilenode`: a statement that rewrites a table gives it a new one.
 * - An index column that is an expression is `(expression)`; INCLUDE columns are left out.
 * - A foreign key to a table of another schema names it `schema.table`.
 * - A column under a NOT NULL constraint added `NOT VALID` (PostgreSQL 18) is not `notNull` until
 *   the constraint is validated: rows already there may hold NULL.
 * - A generated column's expression is not its `default`.
 */
export class PgSchemaInspector implements SchemaInspector {
  private readonly s: string;

  /**
   * @param client the session to read through
   * @param schema the migrations' schema
   */
  constructor(
    private readonly client: ClientBase,
    private readonly schema: string,
  ) {
    this.s = quoteIdentifier(schema);
  }

  async snapshot(): Promise<SchemaSnapshot> {
    const tableRows = await this.rows<{ name: string; storage: string }>(TABLE_ROWS);
    const columns = group(await this.rows<Row<ColumnShape>>(COLUMN_ROWS));
    const indexes = group(await this.rows<Row<IndexShape>>(INDEX_ROWS));
    const constraints = group(await this.rows<ConstraintRow>(CONSTRAINT_ROWS));
    const tables = new Map<string, TableShape>();
    for (const { name, storage } of tableRows) {
      const own = constraints.get(name) ?? [];
      tables.set(name, {
        name,
        columns: (columns.get(name) ?? []).map(({ name, type, notNull, default: value, primaryKey }) => ({ name, type, notNull, default: value, primaryKey })),
        indexes: (indexes.get(name) ?? []).map(({ name, columns, unique, constraint, partial }) => ({ name, columns, unique, constraint, partial })),
        foreignKeys: own
          .filter((k) => k.kind === 'f')
          .map(({ name, columns, references, referencedColumns, validated }) => ({ name, columns, references, referencedColumns, validated })),
        checks: own.filter((k) => k.kind === 'c').map(({ name, expression, validated }): CheckShape => ({ name, expression: expression ?? '', validated })),
        storage,
      });
    }
    const views = await this.rows<{ name: string; definition: string }>(VIEW_ROWS, [this.schema]);
    const triggers = await this.rows<{ name: string; table: string }>(TRIGGER_ROWS);
    return {
      tables,
      views: new Map(views.map((v) => [v.name, v.definition])),
      triggers: new Map(triggers.map((t) => [t.name, t.table])),
    };
  }

  async countRows(tables: readonly string[]): Promise<Map<string, number>> {
    if (tables.length === 0) return new Map();
    // One query for all of them: an analysis may count hundreds of tables.
    const sql = tables.map((table, i) => `SELECT ${i} AS i, COUNT(*) AS n FROM ${this.qualified(table)}`).join(' UNION ALL ');
    const { rows } = await this.client.query<{ i: number; n: string }>(sql);
    return new Map(rows.map(({ i, n }) => [tables[i], Number(n)]));
  }

  async countNulls(table: string, column: string): Promise<number> {
    return this.count(`SELECT COUNT(*) AS n FROM ${this.qualified(table)} WHERE ${quoteIdentifier(column)} IS NULL`);
  }

  async countDuplicates(table: string, columns: readonly string[]): Promise<number> {
    // NULLs are left out as a unique index leaves them out (two NULLs are not equal, by default).
    const quoted = columns.map(quoteIdentifier);
    return this.count(
      `SELECT COALESCE(SUM(n - 1), 0) AS n FROM (SELECT COUNT(*) AS n FROM ${this.qualified(table)} ` +
        `WHERE ${quoted.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ${quoted.join(', ')} HAVING COUNT(*) > 1) AS d`,
    );
  }

  /** Every lock mode held on each table, granted to this session: in a transaction, those its statements took so far. */
  async locksHeld(): Promise<RelationLock[]> {
    return this.rows<RelationLock>(LOCK_ROWS);
  }

  private async rows<T>(sql: string, params: unknown[] = [this.schema, OWN_TABLES]): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  private async count(sql: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(sql);
    return Number(rows[0].n);
  }

  private qualified(table: string): string {
    return `${this.s}.${quoteIdentifier(table)}`;
  }
}

/** Rows by the table they belong to, in their order. */
function group<T extends { readonly table: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const list = groups.get(row.table);
    if (list) list.push(row);
    else groups.set(row.table, [row]);
  }
  return groups;
}

/**
 * The schema of a database as the safety analysis compares it before and after a migration on
 * the rehearsal. Driver-neutral: each driver's inspector fills it from its catalog (SQLite:
 * `sqlite_schema` and the table PRAGMAs; PostgreSQL: `pg_catalog`, the migrations' schema only).
 * Names are as the database stores them (PostgreSQL: unquoted identifiers folded to lower case).
 * The module's own tables (`migrations`, `migrations_archive`, `migration_lock` and their
 * indexes and triggers) are left out.
 */
export interface SchemaSnapshot {
  readonly tables: ReadonlyMap<string, TableShape>;
  /** View name → its definition as the catalog gives it. */
  readonly views: ReadonlyMap<string, string>;
  /** Trigger name → the table it is on. */
  readonly triggers: ReadonlyMap<string, string>;
}

export interface TableShape {
  readonly name: string;
  /** In table order. */
  readonly columns: readonly ColumnShape[];
  /** Every index, those behind primary keys and unique constraints included. */
  readonly indexes: readonly IndexShape[];
  readonly foreignKeys: readonly ForeignKeyShape[];
  readonly checks: readonly CheckShape[];
  /**
   * What identifies the table's storage (PostgreSQL: `pg_class.relfilenode`): a different value
   * after a migration means the table was rewritten. Null where the driver cannot tell (SQLite).
   */
  readonly storage: string | null;
}

export interface ColumnShape {
  readonly name: string;
  /** The declared type, as the catalog spells it (`INTEGER`, `character varying(40)`). */
  readonly type: string;
  readonly notNull: boolean;
  /** The default expression's text, or null for none. */
  readonly default: string | null;
  /** Part of the primary key. */
  readonly primaryKey: boolean;
}

export interface IndexShape {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
  /** Behind a primary key or a unique constraint, rather than created by CREATE INDEX. */
  readonly constraint: boolean;
  /** Has a WHERE clause. */
  readonly partial: boolean;
}

export interface ForeignKeyShape {
  /** The constraint's name, or null where the database keeps none (SQLite). */
  readonly name: string | null;
  readonly columns: readonly string[];
  readonly references: string;
  readonly referencedColumns: readonly string[];
  /** False for a PostgreSQL constraint added `NOT VALID` and not validated since. */
  readonly validated: boolean;
}

export interface CheckShape {
  readonly name: string | null;
  /** The expression as the catalog gives it (`(email IS NOT NULL)`). */
  readonly expression: string;
  readonly validated: boolean;
}

/**
 * A lock the rehearsal session held on a table after a statement (PostgreSQL only).
 * @inline Not exported by name: the API reference shows its fields where it is used.
 */
export interface RelationLock {
  /** The locked table. */
  readonly table: string;
  /** PostgreSQL's lock mode name, e.g. `AccessExclusiveLock`. */
  readonly mode: string;
}

/**
 * Reads a rehearsal copy's schema and data for the safety analysis. Every method reads; none
 * changes anything. Table and column names come from a snapshot, never from user input, and are
 * quoted by the implementation.
 */
export interface SchemaInspector {
  snapshot(): Promise<SchemaSnapshot>;
  /** Rows of each table (exact counts). */
  countRows(tables: readonly string[]): Promise<Map<string, number>>;
  /** Rows where `column` is NULL. */
  countNulls(table: string, column: string): Promise<number>;
  /** Rows beyond the first of every group of equal, non-null values of `columns`: what a unique index on them would refuse. */
  countDuplicates(table: string, columns: readonly string[]): Promise<number>;
  /** Locks on tables the session holds now (PostgreSQL); undefined where the database has no such thing (SQLite locks the whole file). */
  locksHeld?(): Promise<RelationLock[]>;
}

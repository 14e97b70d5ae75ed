import { Logger } from '@nestjs/common';
import type { Client, PoolClient } from 'pg';
import type { CapturedStatement, RehearsalCopy } from '../../src/auto-migration/driver/capabilities';
import { PgConnections } from '../../src/auto-migration/driver/postgres/pg-connections';
import { PgRollbackRehearsal } from '../../src/auto-migration/driver/postgres/pg-rehearsal';
import { PgSql } from '../../src/auto-migration/driver/postgres/pg-schema';
import { PgSchemaInspector } from '../../src/auto-migration/driver/postgres/pg-schema-inspector';
import { runScript } from '../../src/auto-migration/driver/script-runner';
import type { SchemaSnapshot, TableShape } from '../../src/auto-migration/safety/schema-snapshot';
import { usePgSchema } from '../helpers/postgres';

/*
 * The PostgreSQL inspector of the safety analysis on a real server: what a snapshot holds, what
 * it leaves out (the module's own tables), what shows a table rewrite, the counts, the locks a
 * session holds; and the dry run's session noting each statement's locks.
 */

const pg = usePgSchema('inspect');
/** A schema beside the migrations' one, for a foreign key that leaves it. */
const other = `${pg.schema}_other`;
afterAll(() => pg.query(`DROP SCHEMA IF EXISTS ${other} CASCADE`));

const SCHEMA = `
CREATE SEQUENCE order_numbers;
CREATE TABLE customers (
  id serial PRIMARY KEY,
  email varchar(40) NOT NULL,
  region text NOT NULL DEFAULT 'eu',
  created_at timestamptz NOT NULL DEFAULT now(),
  email_lower text GENERATED ALWAYS AS (lower(email)) STORED,
  CONSTRAINT customers_email_key UNIQUE (email)
);
CREATE INDEX customers_lower_email ON customers (lower(email));
CREATE TABLE orders (
  customer_id int NOT NULL REFERENCES customers (id),
  number bigint NOT NULL DEFAULT nextval('order_numbers'),
  total numeric(10,2),
  note text,
  PRIMARY KEY (customer_id, number)
);
CREATE UNIQUE INDEX orders_number ON orders (number) INCLUDE (note);
CREATE INDEX orders_big ON orders (total) WHERE total > 100;
INSERT INTO customers (email) VALUES ('a@x'), ('b@x'), ('c@x');
-- Rows without a note, added before the check that NOT VALID leaves unchecked on them.
INSERT INTO orders (customer_id, total) VALUES (1, 5), (1, 5), (2, 5), (2, 7), (3, NULL), (3, NULL);
ALTER TABLE orders ADD CONSTRAINT orders_note_present CHECK (note IS NOT NULL) NOT VALID;
CREATE TABLE "order lines" (order_customer int, order_number bigint, qty int, label text);
ALTER TABLE "order lines" ADD CONSTRAINT lines_order FOREIGN KEY (order_customer, order_number) REFERENCES orders (customer_id, number) NOT VALID;
ALTER TABLE "order lines" ADD CONSTRAINT lines_qty_present CHECK (qty IS NOT NULL);
CREATE VIEW big_orders AS SELECT customer_id, total FROM orders WHERE total > 100;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE rewrites (c int);
CREATE TABLE regions (code text PRIMARY KEY);
CREATE TABLE locked (a int);
`;

let client: Client;
let inspector: PgSchemaInspector;

beforeAll(async () => {
  client = await pg.client();
  await client.query(new PgSql(pg.schema).createTables());
  await client.query(SCHEMA);
  await client.query(`CREATE SCHEMA ${other}; CREATE TABLE ${other}.countries (code text PRIMARY KEY);
    CREATE TABLE ${other}.not_ours (id int); CREATE VIEW ${other}.nor_this AS SELECT 1 AS one;
    ALTER TABLE regions ADD CONSTRAINT regions_country FOREIGN KEY (code) REFERENCES ${other}.countries (code)`);
  inspector = new PgSchemaInspector(client, pg.schema);
});

function table(snapshot: SchemaSnapshot, name: string): TableShape {
  const shape = snapshot.tables.get(name);
  if (!shape) throw new Error(`no table ${name} in the snapshot: ${[...snapshot.tables.keys()].join(', ')}`);
  return shape;
}

describe('PgSchemaInspector.snapshot', () => {
  it("lists the schema's tables, not the module's own, nor another schema's", async () => {
    const snapshot = await inspector.snapshot();
    expect([...snapshot.tables.keys()].sort()).toEqual(['customers', 'locked', 'order lines', 'orders', 'regions', 'rewrites']);
  });

  it('reads columns: types as the catalog spells them, NOT NULL, defaults (a function, a constant, a sequence), primary-key membership', async () => {
    const snapshot = await inspector.snapshot();
    expect(table(snapshot, 'customers').columns).toEqual([
      { name: 'id', type: 'integer', notNull: true, default: "nextval('customers_id_seq'::regclass)", primaryKey: true },
      { name: 'email', type: 'character varying(40)', notNull: true, default: null, primaryKey: false },
      { name: 'region', type: 'text', notNull: true, default: "'eu'::text", primaryKey: false },
      { name: 'created_at', type: 'timestamp with time zone', notNull: true, default: 'now()', primaryKey: false },
      // A generated column's expression is no default.
      { name: 'email_lower', type: 'text', notNull: false, default: null, primaryKey: false },
    ]);
    expect(table(snapshot, 'orders').columns).toEqual([
      { name: 'customer_id', type: 'integer', notNull: true, default: null, primaryKey: true },
      { name: 'number', type: 'bigint', notNull: true, default: "nextval('order_numbers'::regclass)", primaryKey: true },
      { name: 'total', type: 'numeric(10,2)', notNull: false, default: null, primaryKey: false },
      { name: 'note', type: 'text', notNull: false, default: null, primaryKey: false },
    ]);
  });

  it('reads indexes: those behind a primary key and a UNIQUE constraint, a unique index (its INCLUDE column left out), a partial one, an expression', async () => {
    const snapshot = await inspector.snapshot();
    expect(table(snapshot, 'customers').indexes).toEqual([
      { name: 'customers_email_key', columns: ['email'], unique: true, constraint: true, partial: false },
      { name: 'customers_lower_email', columns: ['(expression)'], unique: false, constraint: false, partial: false },
      { name: 'customers_pkey', columns: ['id'], unique: true, constraint: true, partial: false },
    ]);
    expect(table(snapshot, 'orders').indexes).toEqual([
      { name: 'orders_big', columns: ['total'], unique: false, constraint: false, partial: true },
      { name: 'orders_number', columns: ['number'], unique: true, constraint: false, partial: false },
      { name: 'orders_pkey', columns: ['customer_id', 'number'], unique: true, constraint: true, partial: false },
    ]);
  });

  it('reads foreign keys and checks, validated or NOT VALID, checks as bare expressions', async () => {
    const snapshot = await inspector.snapshot();
    const orders = table(snapshot, 'orders');
    const lines = table(snapshot, 'order lines');
    expect(orders.foreignKeys).toEqual([
      { name: 'orders_customer_id_fkey', columns: ['customer_id'], references: 'customers', referencedColumns: ['id'], validated: true },
    ]);
    expect(lines.foreignKeys).toEqual([
      {
        name: 'lines_order',
        columns: ['order_customer', 'order_number'],
        references: 'orders',
        referencedColumns: ['customer_id', 'number'],
        validated: false,
      },
    ]);
    expect(orders.checks).toEqual([{ name: 'orders_note_present', expression: '(note IS NOT NULL)', validated: false }]);
    expect(lines.checks).toEqual([{ name: 'lines_qty_present', expression: '(qty IS NOT NULL)', validated: true }]);
    expect(lines.indexes).toEqual([]);
    // A parent in another schema is named with it.
    expect(table(snapshot, 'regions').foreignKeys).toEqual([
      { name: 'regions_country', columns: ['code'], references: `${other}.countries`, referencedColumns: ['code'], validated: true },
    ]);
  });

  it("reads views with their definitions and triggers with their tables (not PostgreSQL's internal ones, not the module's)", async () => {
    const snapshot = await inspector.snapshot();
    expect([...snapshot.views.keys()]).toEqual(['big_orders']);
    // PostgreSQL 15 qualifies the columns of a view over one table; 18 does not.
    expect(snapshot.views.get('big_orders')).toMatch(/SELECT (orders\.)?customer_id,\s+(orders\.)?total\s+FROM orders\s+WHERE (orders\.)?total > 100/);
    expect(snapshot.triggers).toEqual(new Map([['orders_touch', 'orders']]));
  });

  it('storage changes when a statement rewrites the table (a type change, a volatile default), not when it does not (a column without a default, a constant default)', async () => {
    const storage = async () => table(await inspector.snapshot(), 'rewrites').storage;
    const first = await storage();
    expect(first).toMatch(/^\d+$/);
    await client.query('ALTER TABLE rewrites ADD COLUMN d int');
    await client.query("ALTER TABLE rewrites ADD COLUMN e text DEFAULT 'x'");
    expect(await storage()).toBe(first);
    await client.query('ALTER TABLE rewrites ALTER COLUMN c TYPE bigint');
    const retyped = await storage();
    expect(retyped).not.toBe(first);
    await client.query('ALTER TABLE rewrites ADD COLUMN f float8 DEFAULT random()');
    expect(await storage()).not.toBe(retyped);
  });

  it('a NOT NULL constraint added NOT VALID (PostgreSQL 18) is not NOT NULL until validated', async () => {
    const version = Number((await client.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0].server_version_num);
    // Before 18 there is no such constraint: nothing to test.
    if (version < 180_000) return;
    await client.query('CREATE TABLE later_not_null (c int); INSERT INTO later_not_null VALUES (1)');
    try {
      await client.query('ALTER TABLE later_not_null ADD CONSTRAINT later_c NOT NULL c NOT VALID');
      expect(table(await inspector.snapshot(), 'later_not_null').columns[0].notNull).toBe(false);
      await client.query('ALTER TABLE later_not_null VALIDATE CONSTRAINT later_c');
      expect(table(await inspector.snapshot(), 'later_not_null').columns[0].notNull).toBe(true);
    } finally {
      await client.query('DROP TABLE later_not_null');
    }
  });
});

describe('PgSchemaInspector counts', () => {
  it('counts rows of several tables in one query, a quoted name included', async () => {
    expect(await inspector.countRows(['customers', 'orders', 'order lines'])).toEqual(
      new Map([
        ['customers', 3],
        ['orders', 6],
        ['order lines', 0],
      ]),
    );
    expect(await inspector.countRows([])).toEqual(new Map());
  });

  it('counts NULLs, and duplicates as the rows beyond the first of each group, NULLs aside', async () => {
    expect(await inspector.countNulls('orders', 'total')).toBe(2);
    expect(await inspector.countNulls('orders', 'customer_id')).toBe(0);
    // total: 5, 5, 5, 7, NULL, NULL → two rows too many; (customer_id, total): (1, 5) twice → one.
    expect(await inspector.countDuplicates('orders', ['total'])).toBe(2);
    expect(await inspector.countDuplicates('orders', ['customer_id', 'total'])).toBe(1);
    expect(await inspector.countDuplicates('customers', ['email'])).toBe(0);
  });
});

describe('PgSchemaInspector.locksHeld', () => {
  async function locksAfter(sql: string) {
    await client.query('BEGIN');
    try {
      await client.query(sql);
      // A read of the module's table: its lock is not the migration's business.
      await client.query('SELECT count(*) FROM migrations');
      return await inspector.locksHeld();
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it("ALTER TABLE ... ADD COLUMN holds ACCESS EXCLUSIVE on the table; CREATE INDEX holds SHARE; the module's tables are left out", async () => {
    expect(await locksAfter('ALTER TABLE locked ADD COLUMN b int')).toEqual([{ table: 'locked', mode: 'AccessExclusiveLock' }]);
    expect(await locksAfter('CREATE INDEX ON locked (a)')).toEqual([{ table: 'locked', mode: 'ShareLock' }]);
    expect(await locksAfter('SELECT * FROM orders')).toEqual([{ table: 'orders', mode: 'AccessShareLock' }]);
  });

  it('holds none outside a transaction', async () => {
    await client.query('SELECT * FROM orders');
    expect(await inspector.locksHeld()).toEqual([]);
  });
});

describe('PgRollbackRehearsal: the inspector and the locks of each statement', () => {
  let connections: PgConnections;
  let copy: RehearsalCopy;

  beforeEach(async () => {
    connections = new PgConnections(
      { connectionString: pg.url, pool: null, migrationConnectionString: null, schema: pg.schema, ddl: { lockTimeoutMs: 5_000, statementTimeoutMs: 0 } },
      (message) => message,
      new Logger('test'),
    );
    copy = await new PgRollbackRehearsal(connections, pg.schema, { lockTimeoutMs: 5_000, statementTimeoutMs: 0 }).openCopy();
  });

  afterEach(async () => {
    await copy.dispose();
    await connections.close();
  });

  /** Runs `work` on the copy's connection as a migration's up(db) would, in its savepoint; returns what was captured. */
  async function migrate(work: (db: PoolClient) => Promise<unknown>, watchLocks: boolean): Promise<CapturedStatement[]> {
    const captured: CapturedStatement[] = [];
    await copy.session.begin();
    copy.capture = captured;
    copy.watchLocks = watchLocks;
    try {
      await work(copy.session.connection as PoolClient);
    } finally {
      copy.capture = null;
      copy.watchLocks = false;
    }
    await copy.session.commit();
    return captured;
  }

  it("with watchLocks on, each statement carries the table locks held after it; the inspector's own queries are not captured", async () => {
    expect(copy.watchLocks).toBe(false);
    const captured = await migrate(async (db) => {
      await db.query('SELECT count(*) FROM customers');
      await copy.inspector!.snapshot();
      await db.query('ALTER TABLE locked ADD COLUMN b int');
    }, true);
    expect(captured.map((s) => [s.sql, s.locks])).toEqual([
      ['SELECT count(*) FROM customers', [{ table: 'customers', mode: 'AccessShareLock' }]],
      [
        'ALTER TABLE locked ADD COLUMN b int',
        [
          { table: 'customers', mode: 'AccessShareLock' },
          { table: 'locked', mode: 'AccessExclusiveLock' },
          // The snapshot's: reading the definition of big_orders locks the table it reads, in the same session.
          { table: 'orders', mode: 'AccessShareLock' },
        ],
      ],
    ]);
    // The inspector sees the copy's uncommitted change; the live table is untouched.
    expect(table(await copy.inspector!.snapshot(), 'locked').columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect((await pg.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = '${pg.schema}.locked'::regclass AND attnum > 0`)).rows[0].n).toBe(1);
  });

  it('with watchLocks off, statements carry no locks', async () => {
    const captured = await migrate((db) => db.query('ALTER TABLE locked ADD COLUMN b int'), false);
    expect(captured).toEqual([{ sql: 'ALTER TABLE locked ADD COLUMN b int', at: expect.any(Number) }]);
  });

  it("a statement that fails carries no locks, and fails with PostgreSQL's own error", async () => {
    const captured: CapturedStatement[] = [];
    await copy.session.begin();
    copy.capture = captured;
    copy.watchLocks = true;
    await expect((copy.session.connection as PoolClient).query('ALTER TABLE no_such_table ADD COLUMN b int')).rejects.toMatchObject({ code: '42P01' });
    copy.capture = null;
    await copy.session.rollback();
    expect(captured).toEqual([{ sql: 'ALTER TABLE no_such_table ADD COLUMN b int', at: expect.any(Number) }]);
  });

  it('a transactional .sql file runs statement by statement while captured, each with its locks', async () => {
    const file = `-- add a column and an index
ALTER TABLE locked ADD COLUMN b int;
CREATE INDEX locked_b ON locked (b);
`;
    const captured = await migrate((db) => runScript(db, file, { transaction: true }), true);
    expect(captured.map((s) => [s.sql, s.locks])).toEqual([
      ['ALTER TABLE locked ADD COLUMN b int', [{ table: 'locked', mode: 'AccessExclusiveLock' }]],
      [
        'CREATE INDEX locked_b ON locked (b)',
        [
          { table: 'locked', mode: 'AccessExclusiveLock' },
          { table: 'locked', mode: 'ShareLock' },
        ],
      ],
    ]);
  });

  it("a .sql file the splitter cannot read runs whole: PostgreSQL's syntax error, as a run would get", async () => {
    const captured: CapturedStatement[] = [];
    await copy.session.begin();
    copy.capture = captured;
    await expect(runScript(copy.session.connection, "SELECT 1;\nSELECT 'unterminated", { transaction: true })).rejects.toMatchObject({ code: '42601' });
    copy.capture = null;
    await copy.session.rollback();
    expect(captured.map((s) => s.sql)).toEqual(["SELECT 1;\nSELECT 'unterminated"]);
  });
});

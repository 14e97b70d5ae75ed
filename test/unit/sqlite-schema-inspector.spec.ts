import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { CapturedStatement } from '../../src/auto-migration/driver/capabilities';
import { SqliteRehearsal } from '../../src/auto-migration/driver/sqlite/sqlite-rehearsal';
import { upgradeSchema } from '../../src/auto-migration/driver/sqlite/sqlite-schema';
import { SqliteSchemaInspector } from '../../src/auto-migration/driver/sqlite/sqlite-schema-inspector';
import { useTempDatabase } from '../helpers/temp-dir';

/** A name that needs quoting three ways: a space, a double quote and a keyword. */
const ODD = 'odd "name" select';

const SCHEMA = `
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT DEFAULT 'nobody' CHECK (length(name) < 50),
  score REAL NOT NULL DEFAULT (0.5 * 2),
  CONSTRAINT "email ""present""" CHECK (email IS NOT NULL)
);
CREATE TABLE orgs (region TEXT, code TEXT, label TEXT, UNIQUE (region, code));
CREATE TABLE memberships (
  user_id INTEGER NOT NULL REFERENCES USERS,
  region TEXT,
  code TEXT,
  role TEXT,
  PRIMARY KEY (user_id, code, region),
  FOREIGN KEY (region, code) REFERENCES orgs (region, code)
);
CREATE TABLE grants (user_id INTEGER, region TEXT, code TEXT, FOREIGN KEY (user_id, code, region) REFERENCES memberships);
CREATE UNIQUE INDEX users_name ON users (name);
CREATE INDEX memberships_admins ON memberships (role) WHERE role = 'admin';
CREATE INDEX users_email_lower ON users (lower(email), id);
CREATE VIEW admins AS SELECT user_id FROM memberships WHERE role = 'admin';
CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END;
`;

describe('SqliteSchemaInspector', () => {
  const t = useTempDatabase();
  let db: Database;
  beforeEach(() => {
    db = new BetterSqlite3(t.db);
  });
  afterEach(() => db.close());

  it('reads tables, columns, indexes, foreign keys, checks, views and triggers, leaving out the tables of SQLite and of the module', async () => {
    db.exec(SCHEMA);
    upgradeSchema(db);
    db.exec('CREATE TRIGGER history_watch AFTER INSERT ON migrations BEGIN SELECT 1; END');
    const stored = db.prepare('SELECT name FROM sqlite_schema').pluck().all();
    expect(stored).toEqual(expect.arrayContaining(['migrations', 'migration_lock', 'migrations_archive', 'idx_migrations_name', 'sqlite_sequence']));

    const snapshot = await new SqliteSchemaInspector(db).snapshot();

    expect([...snapshot.tables.keys()]).toEqual(['grants', 'memberships', 'orgs', 'users']);
    expect(snapshot.views).toEqual(new Map([['admins', "CREATE VIEW admins AS SELECT user_id FROM memberships WHERE role = 'admin'"]]));
    expect(snapshot.triggers).toEqual(new Map([['users_touch', 'users']]));
    expect(snapshot.tables.get('users')).toEqual({
      name: 'users',
      columns: [
        { name: 'id', type: 'INTEGER', notNull: false, default: null, primaryKey: true },
        { name: 'email', type: 'TEXT', notNull: true, default: null, primaryKey: false },
        { name: 'name', type: 'TEXT', notNull: false, default: "'nobody'", primaryKey: false },
        { name: 'score', type: 'REAL', notNull: true, default: '0.5 * 2', primaryKey: false },
      ],
      // INTEGER PRIMARY KEY is the rowid: no index behind it.
      indexes: [
        { name: 'sqlite_autoindex_users_1', columns: ['email'], unique: true, constraint: true, partial: false },
        { name: 'users_email_lower', columns: ['(expression)', 'id'], unique: false, constraint: false, partial: false },
        { name: 'users_name', columns: ['name'], unique: true, constraint: false, partial: false },
      ],
      foreignKeys: [],
      checks: [
        { name: null, expression: '(length(name) < 50)', validated: true },
        { name: 'email "present"', expression: '(email IS NOT NULL)', validated: true },
      ],
      storage: null,
    });
    expect(snapshot.tables.get('memberships')).toEqual({
      name: 'memberships',
      columns: [
        { name: 'user_id', type: 'INTEGER', notNull: true, default: null, primaryKey: true },
        { name: 'region', type: 'TEXT', notNull: false, default: null, primaryKey: true },
        { name: 'code', type: 'TEXT', notNull: false, default: null, primaryKey: true },
        { name: 'role', type: 'TEXT', notNull: false, default: null, primaryKey: false },
      ],
      indexes: [
        { name: 'memberships_admins', columns: ['role'], unique: false, constraint: false, partial: true },
        { name: 'sqlite_autoindex_memberships_1', columns: ['user_id', 'code', 'region'], unique: true, constraint: true, partial: false },
      ],
      // `REFERENCES USERS` names no column: the parent's primary key, and the parent as the catalog spells it.
      foreignKeys: expect.arrayContaining([
        { name: null, columns: ['region', 'code'], references: 'orgs', referencedColumns: ['region', 'code'], validated: true },
        { name: null, columns: ['user_id'], references: 'users', referencedColumns: ['id'], validated: true },
      ]),
      checks: [],
      storage: null,
    });
    expect(snapshot.tables.get('memberships')!.foreignKeys).toHaveLength(2);
    // The parent's primary key in its own order, not its columns'.
    expect(snapshot.tables.get('grants')!.foreignKeys).toEqual([
      { name: null, columns: ['user_id', 'code', 'region'], references: 'memberships', referencedColumns: ['user_id', 'code', 'region'], validated: true },
    ]);
    expect(snapshot.tables.get('orgs')!.indexes).toEqual([
      { name: 'sqlite_autoindex_orgs_1', columns: ['region', 'code'], unique: true, constraint: true, partial: false },
    ]);
  });

  it('finds CHECK constraints only where they are constraints: not in strings, quoted names or comments', async () => {
    db.exec(`
      CREATE TABLE notes (
        "check" TEXT DEFAULT 'CHECK (no)', -- CHECK (not this one)
        body TEXT /* CHECK (nor this) */ CONSTRAINT [short body] CHECK (length(body) < (10 + 5)),
        CHECK("check" <> ')')
      );
      ALTER TABLE notes ADD COLUMN size INTEGER CONSTRAINT size_positive check (size > 0);
    `);

    const checks = (await new SqliteSchemaInspector(db).snapshot()).tables.get('notes')!.checks;

    // In the text's order: ADD COLUMN writes the new column after the last one, before the table constraints.
    expect(checks).toEqual([
      { name: 'short body', expression: '(length(body) < (10 + 5))', validated: true },
      { name: 'size_positive', expression: '(size > 0)', validated: true },
      { name: null, expression: `("check" <> ')')`, validated: true },
    ]);
  });

  it('reads and counts a table whose name needs quoting', async () => {
    db.exec(`CREATE TABLE "odd ""name"" select" ("a b" TEXT, "order" INTEGER);
             CREATE UNIQUE INDEX "odd index" ON "odd ""name"" select" ("a b", "order");
             INSERT INTO "odd ""name"" select" VALUES ('x', 1), ('x', 2), (NULL, 3), ('y', NULL)`);
    const inspector = new SqliteSchemaInspector(db);

    const table = (await inspector.snapshot()).tables.get(ODD)!;
    expect(table.columns.map((c) => c.name)).toEqual(['a b', 'order']);
    expect(table.indexes).toEqual([{ name: 'odd index', columns: ['a b', 'order'], unique: true, constraint: false, partial: false }]);
    expect(await inspector.countRows([ODD])).toEqual(new Map([[ODD, 4]]));
    expect(await inspector.countNulls(ODD, 'a b')).toBe(1);
    expect(await inspector.countNulls(ODD, 'order')).toBe(1);
    expect(await inspector.countDuplicates(ODD, ['a b'])).toBe(1);
    expect(await inspector.countDuplicates(ODD, ['a b', 'order'])).toBe(0);
  });

  it('counts rows, NULLs and duplicates; NULLs are never duplicates, as for a unique index', async () => {
    db.exec(`CREATE TABLE t (a INTEGER, b TEXT, c TEXT);
             CREATE TABLE empty (a INTEGER);
             INSERT INTO t VALUES (1, 'x', NULL), (1, 'x', NULL), (1, 'x', 'k'), (1, 'y', 'k'), (2, NULL, 'k'), (2, NULL, 'k'), (NULL, NULL, NULL)`);
    const inspector = new SqliteSchemaInspector(db);

    expect(await inspector.countRows(['t', 'empty'])).toEqual(
      new Map([
        ['t', 7],
        ['empty', 0],
      ]),
    );
    expect(await inspector.countNulls('t', 'a')).toBe(1);
    expect(await inspector.countNulls('t', 'b')).toBe(3);
    expect(await inspector.countNulls('empty', 'a')).toBe(0);
    // a: 1 ×4, 2 ×2 → 3 + 1.
    expect(await inspector.countDuplicates('t', ['a'])).toBe(4);
    // (1, x) ×3 → 2; rows with b NULL are left out.
    expect(await inspector.countDuplicates('t', ['a', 'b'])).toBe(2);
    // (1, x, k), (1, y, k), (2, NULL, k) ×2, the rest with a NULL: nothing is duplicated.
    expect(await inspector.countDuplicates('t', ['a', 'b', 'c'])).toBe(0);
    expect(await inspector.countDuplicates('empty', ['a'])).toBe(0);
    // What a unique index refuses, and counted as SQLite's own unique index would.
    expect(() => db.exec('CREATE UNIQUE INDEX abc ON t (a, b, c)')).not.toThrow();
    expect(() => db.exec('CREATE UNIQUE INDEX ab ON t (a, b)')).toThrow(/UNIQUE constraint failed/);
  });

  it('rejects, not throws, when a read fails', async () => {
    const inspector = new SqliteSchemaInspector(db);
    const counting = inspector.countNulls('missing', 'a');
    expect(counting).toBeInstanceOf(Promise);
    // Matched by shape: better-sqlite3's native part keeps the SqliteError class of the first test file a Jest worker loads, whose Error is another realm's.
    await expect(counting).rejects.toMatchObject({ message: 'no such table: missing' });
  });

  it("lists a virtual table's own columns and leaves out its shadow tables, and one whose module this connection lacks", async () => {
    db.exec('CREATE VIRTUAL TABLE docs USING fts5(title, body); CREATE TABLE plain (a)');
    // What a table made through an extension the application loads looks like to a connection without it.
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.exec(
      `INSERT INTO sqlite_schema (type, name, tbl_name, rootpage, sql) VALUES ('table', 'vectors', 'vectors', 0, 'CREATE VIRTUAL TABLE vectors USING vec0(v)')`,
    );
    db.close();
    db = new BetterSqlite3(t.db);
    const inspector = new SqliteSchemaInspector(db);

    const snapshot = await inspector.snapshot();

    expect([...snapshot.tables.keys()]).toEqual(['docs', 'plain']);
    expect(snapshot.tables.get('docs')!.columns.map((c) => c.name)).toEqual(['title', 'body']);
    expect(await inspector.countRows([...snapshot.tables.keys()])).toEqual(
      new Map([
        ['docs', 0],
        ['plain', 0],
      ]),
    );
  });
});

describe('SqliteRehearsal: the copy’s inspector', () => {
  const t = useTempDatabase();

  it('reads the copy, and its reads are never captured as the migration’s statements', async () => {
    const source = new BetterSqlite3(t.db);
    source.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT); INSERT INTO items (sku) VALUES ('a'), ('a'), (NULL)`);
    upgradeSchema(source);
    const copy = await new SqliteRehearsal(() => source, t.db, {}).openCopy(t.dir.path);
    try {
      expect(copy.watchLocks).toBe(false);
      const inspector = copy.inspector!;

      copy.capture = null;
      expect([...(await inspector.snapshot()).tables.keys()]).toEqual(['items']);

      const captured: CapturedStatement[] = [];
      copy.capture = captured;
      await inspector.snapshot();
      expect(await inspector.countRows(['items'])).toEqual(new Map([['items', 3]]));
      expect(await inspector.countNulls('items', 'sku')).toBe(1);
      expect(await inspector.countDuplicates('items', ['sku'])).toBe(1);
      await expect(inspector.countRows(['missing'])).rejects.toMatchObject({ message: 'no such table: missing' });
      expect(captured).toEqual([]);

      // The capture is back on afterwards, into the same array.
      expect(copy.capture).toBe(captured);
      (copy.session.connection as Database).exec(`INSERT INTO items (sku) VALUES ('b')`);
      expect(captured.map((s) => s.sql)).toEqual([`INSERT INTO items (sku) VALUES ('b')`]);
      copy.capture = null;
      // The copy, not the source.
      expect(await inspector.countRows(['items'])).toEqual(new Map([['items', 4]]));
    } finally {
      await copy.dispose();
      source.close();
    }
  });
});

import { analyzeMigration, type RehearsedMigration } from '../../src/auto-migration/safety/analyze-migration';
import type { ColumnShape, SchemaSnapshot, TableShape } from '../../src/auto-migration/safety/schema-snapshot';

/*
 * The comparison the safety rules make, on hand-made snapshots: which change is which finding,
 * what counts as a rename rather than a drop, what a table rebuild (SQLite) leaves unflagged, and
 * how long a lock was held.
 */

const col = (name: string, type = 'TEXT', more: Partial<ColumnShape> = {}): ColumnShape => ({
  name,
  type,
  notNull: false,
  default: null,
  primaryKey: false,
  ...more,
});

function table(name: string, columns: ColumnShape[], more: Partial<TableShape> = {}): TableShape {
  return { name, columns, indexes: [], foreignKeys: [], checks: [], storage: null, ...more };
}

function schema(...tables: TableShape[]): SchemaSnapshot {
  return { tables: new Map(tables.map((t) => [t.name, t])), views: new Map(), triggers: new Map() };
}

function rehearsed(before: SchemaSnapshot, after: SchemaSnapshot | null, more: Partial<RehearsedMigration> = {}): RehearsedMigration {
  const rows = new Map([...before.tables.keys()].map((name) => [name, 10]));
  return {
    name: '002_change',
    dialect: 'sqlite',
    allow: [],
    before,
    after,
    rowsBefore: rows,
    rowsAfter: rows,
    statements: [],
    durationMs: 5,
    violation: null,
    ...more,
  };
}

const rules = (r: RehearsedMigration) => analyzeMigration(r, { longLockMs: 1000 }).map((f) => `${f.rule} ${f.object}${f.accepted ? ' accepted' : ''}`);

const users = table('users', [col('id', 'INTEGER', { primaryKey: true }), col('email'), col('name')]);

describe('analyzeMigration', () => {
  it('finds nothing in a migration that only adds a table and a nullable column', () => {
    const after = schema(table('users', [...users.columns, col('age', 'INTEGER')]), table('posts', [col('id')]));
    expect(rules(rehearsed(schema(users), after))).toEqual([]);
  });

  it('tells a dropped table from a renamed one by the statement that renamed it', () => {
    expect(rules(rehearsed(schema(users), schema()))).toEqual(['drop-table users']);
    const renamed = rehearsed(schema(users), schema({ ...users, name: 'members' }), {
      statements: [{ sql: 'ALTER TABLE users RENAME TO members', durationMs: 1 }],
    });
    expect(rules(renamed)).toEqual(['rename-table users']);
  });

  it('tells a dropped column from a renamed one, and says how many values were lost', () => {
    const dropped = analyzeMigration(rehearsed(schema(users), schema(table('users', users.columns.slice(0, 2)))), { longLockMs: 1000 });
    expect(dropped.map((f) => [f.rule, f.object, f.rows])).toEqual([['drop-column', 'users.name', 10]]);
    const renamed = rehearsed(schema(users), schema(table('users', [users.columns[0], users.columns[1], col('full_name')])), {
      statements: [{ sql: 'ALTER TABLE "users" RENAME COLUMN "name" TO "full_name"', durationMs: 1 }],
    });
    expect(rules(renamed)).toEqual(['rename-column users.name']);
  });

  it('does not flag a SQLite table rebuild that keeps every column and index (create, copy, drop, rename)', () => {
    const indexed = { ...users, indexes: [{ name: 'users_email', columns: ['email'], unique: true, constraint: false, partial: false }] };
    const statements = [
      'CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT, name TEXT)',
      'INSERT INTO users_new SELECT * FROM users',
      'DROP TABLE users',
      'ALTER TABLE users_new RENAME TO users',
      'CREATE UNIQUE INDEX users_email ON users (email)',
    ].map((sql) => ({ sql, durationMs: 1 }));
    expect(rules(rehearsed(schema(indexed), schema(indexed), { statements }))).toEqual([]);
  });

  it('finds a type change, a NOT NULL, a unique index and an index dropped, each once', () => {
    const before = { ...users, indexes: [{ name: 'users_name', columns: ['name'], unique: false, constraint: false, partial: false }] };
    const after = table('users', [users.columns[0], col('email', 'TEXT', { notNull: true }), col('name', 'VARCHAR(40)')], {
      indexes: [{ name: 'users_email', columns: ['email'], unique: true, constraint: false, partial: false }],
    });
    expect(rules(rehearsed(schema(before), schema(after)))).toEqual([
      'add-not-null users.email',
      'change-column-type users.name',
      'add-unique users(email)',
      'drop-index users_name',
    ]);
  });

  it('finds nothing done to a table an earlier migration of the same pending set created', () => {
    const posts = table('posts', [col('id'), col('slug')]);
    const withUnique = { ...posts, indexes: [{ name: 'posts_slug', columns: ['slug'], unique: true, constraint: false, partial: false }] };
    expect(rules(rehearsed(schema(users, posts), schema(users, withUnique)))).toEqual(['add-unique posts(slug)']);
    expect(rules(rehearsed(schema(users, posts), schema(users, withUnique), { newTables: ['posts'] }))).toEqual([]);
    expect(rules(rehearsed(schema(users, posts), schema(users), { newTables: ['posts'] }))).toEqual([]);
  });

  it('finds a table or column dropped and created again under its name, and a rename whose old name was added back', () => {
    const recreated = [
      { sql: 'DROP TABLE users', durationMs: 1 },
      { sql: 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)', durationMs: 1 },
    ];
    expect(rules(rehearsed(schema(users), schema(users), { statements: recreated }))).toEqual(['drop-table users']);
    const readded = [{ sql: 'ALTER TABLE users DROP COLUMN email; ALTER TABLE users ADD COLUMN email TEXT', durationMs: 1 }];
    expect(rules(rehearsed(schema(users), schema(users), { statements: readded }))).toEqual(['drop-column users.email']);
    const renamedBack = [
      { sql: 'ALTER TABLE users RENAME COLUMN email TO mail', durationMs: 1 },
      { sql: 'ALTER TABLE users ADD COLUMN email TEXT', durationMs: 1 },
    ];
    expect(rules(rehearsed(schema(users), schema(table('users', [...users.columns, col('mail')])), { statements: renamedBack }))).toEqual([
      'rename-column users.email',
    ]);
  });

  it('tells renames on SQLite whatever the case and quoting of the names (backticks, brackets)', () => {
    const Users = table('Users', [...users.columns]);
    const statements = [{ sql: 'ALTER TABLE `Users` RENAME TO [Accounts]', durationMs: 1 }];
    expect(rules(rehearsed(schema(Users), schema({ ...Users, name: 'Accounts' }), { statements }))).toEqual(['rename-table Users']);
    expect(
      rules(rehearsed(schema(Users), schema({ ...Users, name: 'Accounts' }), { statements: [{ sql: 'ALTER TABLE Users RENAME TO Accounts', durationMs: 1 }] })),
    ).toEqual(['rename-table Users']);
  });

  it('finds no unique index clash on columns the migration added', () => {
    const after = table('users', [...users.columns, col('slug')], {
      indexes: [{ name: 'users_slug', columns: ['slug'], unique: true, constraint: false, partial: false }],
    });
    expect(rules(rehearsed(schema(users), schema(after)))).toEqual([]);
  });

  it('marks the findings a migration allows as accepted', () => {
    expect(rules(rehearsed(schema(users), schema(), { allow: ['drop-table'] }))).toEqual(['drop-table users accepted']);
  });

  it('counts the rows a migration deleted', () => {
    const result = analyzeMigration(rehearsed(schema(users), schema(users), { rowsAfter: new Map([['users', 4]]) }), { longLockMs: 1000 });
    expect(result.map((f) => [f.rule, f.rows, f.level])).toEqual([['rows-deleted', 6, 'warning']]);
  });

  it('reports the constraint a failed migration broke, with the rows that broke it', () => {
    const result = analyzeMigration(rehearsed(schema(users), null, { violation: { rule: 'add-not-null', table: 'users', columns: ['email'], rows: 3 } }), {
      longLockMs: 1000,
    });
    expect(result.map((f) => [f.rule, f.object, f.rows])).toEqual([['add-not-null', 'users.email', 3]]);
  });

  describe('PostgreSQL', () => {
    const pg = (before: SchemaSnapshot, after: SchemaSnapshot, more: Partial<RehearsedMigration> = {}) =>
      rehearsed(before, after, { dialect: 'postgres', ...more });

    it('flags CREATE INDEX without CONCURRENTLY on an existing table, not on a table the migration created', () => {
      const statements = [
        { sql: 'CREATE INDEX users_name_idx ON users (name)', durationMs: 1 },
        { sql: 'CREATE TABLE posts (id int); CREATE INDEX ON posts (id)', durationMs: 1 },
      ];
      expect(rules(pg(schema(users), schema(users, table('posts', [col('id')])), { statements }))).toEqual(['index-not-concurrent users_name_idx']);
      expect(
        rules(pg(schema(users), schema(users), { statements: [{ sql: 'CREATE INDEX CONCURRENTLY users_name_idx ON users (name)', durationMs: 1 }] })),
      ).toEqual([]);
    });

    it('flags a rewrite by its storage, a volatile default under its own rule, and SET NOT NULL without a proving check', () => {
      const before = { ...users, storage: '100' };
      expect(rules(pg(schema(before), schema({ ...before, columns: [users.columns[0], col('email', 'bigint'), users.columns[2]], storage: '200' })))).toEqual([
        'change-column-type users.email',
        'table-rewrite users',
      ]);
      expect(
        rules(pg(schema(before), schema({ ...before, columns: [...users.columns, col('token', 'uuid', { default: 'gen_random_uuid()' })], storage: '200' }))),
      ).toEqual(['volatile-default users.token']);
      const notNull = { ...before, columns: [users.columns[0], col('email', 'TEXT', { notNull: true }), users.columns[2]] };
      expect(rules(pg(schema(before), schema(notNull)))).toEqual(['add-not-null users.email', 'set-not-null-scan users.email']);
      const proven = { ...before, checks: [{ name: 'email_nn', expression: '(email IS NOT NULL)', validated: true }] };
      expect(rules(pg(schema(proven), schema({ ...notNull, checks: proven.checks })))).toEqual(['add-not-null users.email']);
    });

    it('finds a CREATE INDEX that is not the first statement of a query', () => {
      const statements = [{ sql: 'ALTER TABLE users ADD COLUMN x int; CREATE INDEX users_x ON users (x)', durationMs: 1 }];
      expect(rules(pg(schema(users), schema(users), { statements }))).toEqual(['index-not-concurrent users_x']);
    });

    it('does not call a varchar widened in place a type change', () => {
      const before = { ...users, columns: [users.columns[0], col('email', 'character varying(20)'), users.columns[2]], storage: '1' };
      const widened = (type: string) => schema({ ...before, columns: [users.columns[0], col('email', type), users.columns[2]] });
      expect(rules(pg(schema(before), widened('character varying(40)')))).toEqual([]);
      expect(rules(pg(schema(before), widened('text')))).toEqual([]);
      expect(rules(pg(schema(before), widened('character varying(10)')))).toEqual(['change-column-type users.email']);
    });

    it('flags a foreign key added validated to an existing table, not one added NOT VALID', () => {
      const key = { name: 'users_org_fk', columns: ['org'], references: 'orgs', referencedColumns: ['id'], validated: true };
      expect(rules(pg(schema(users), schema({ ...users, foreignKeys: [key] })))).toEqual(['foreign-key-validated-in-place users_org_fk']);
      expect(rules(pg(schema(users), schema({ ...users, foreignKeys: [{ ...key, validated: false }] })))).toEqual([]);
    });

    it('measures an ACCESS EXCLUSIVE lock from the statement that took it to the end of the migration', () => {
      const statements = [
        { sql: 'UPDATE users SET name = upper(name)', durationMs: 400, locks: [{ table: 'users', mode: 'RowExclusiveLock' }] },
        { sql: 'ALTER TABLE users ADD COLUMN age int', durationMs: 5, locks: [{ table: 'users', mode: 'AccessExclusiveLock' }] },
        { sql: 'UPDATE users SET age = 1', durationMs: 1500, locks: [{ table: 'users', mode: 'AccessExclusiveLock' }] },
      ];
      const after = schema({ ...users, columns: [...users.columns, col('age', 'integer')] });
      const found = analyzeMigration(pg(schema(users), after, { statements, durationMs: 1910 }), { longLockMs: 1000 });
      expect(found.map((f) => [f.rule, f.object, f.lockMs, f.statement])).toEqual([
        ['long-exclusive-lock', 'users', 1510, 'ALTER TABLE users ADD COLUMN age int'],
      ]);
      expect(analyzeMigration(pg(schema(users), after, { statements, durationMs: 1910 }), { longLockMs: 2000 })).toEqual([]);
      // An earlier migration's lock, still held by the rehearsal's one transaction, is not this one's.
      const earlier = [{ table: 'users', mode: 'AccessExclusiveLock' }];
      expect(analyzeMigration(pg(schema(users), after, { statements, durationMs: 1910, locksBefore: earlier }), { longLockMs: 1000 })).toEqual([]);
    });
  });
});

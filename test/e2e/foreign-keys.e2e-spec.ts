import type { INestApplicationContext } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { AutoMigrationService, ForeignKeyViolationError } from '../../src/auto-migration';
import { MIGRATION_DRIVER } from '../../src/auto-migration/auto-migration.constants';
import type { DatabaseDriver } from '../../src/auto-migration/driver/database-driver';
import { bootApp, bootFailure, UsesDatabase } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { historyNames, inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/** users <- posts (ON DELETE CASCADE), with data: the shape where a rebuild loses rows. */
const PARENT_WITH_CHILDREN = migration('001_users_posts', (db) => {
  db.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT);
    INSERT INTO users VALUES (1, 'a@x'), (2, 'b@x');
    INSERT INTO posts VALUES (10, 1, 'one'), (11, 1, 'two'), (12, 2, 'three');
  `);
});

/** SQLite's documented table rebuild: create new, copy, drop old, rename. */
const REBUILD_USERS = (db: BetterSqlite3.Database) => {
  db.exec(`
    CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '');
    INSERT INTO users_new (id, email) SELECT id, email FROM users;
    DROP TABLE users;
    ALTER TABLE users_new RENAME TO users;
  `);
};

describe('foreign keys during migrations', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });
  const postCount = () => inspect(t.db, (d) => d.prepare('SELECT COUNT(*) AS n FROM posts').get());

  it('rebuilds a parent table with cascading children inside a transaction without deleting them', async () => {
    const { app } = await bootApp(base(), { migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS)], providers: [UsesDatabase] });
    // Enforcement is back on for the application afterwards.
    expect(app.get(UsesDatabase).db.pragma('foreign_keys', { simple: true })).toBe(1);
    await app.close();
    expect(postCount()).toEqual({ n: 3 });
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_rebuild_users']);
    expect(inspect(t.db, (d) => d.pragma('foreign_key_check'))).toEqual([]);
  });

  it('does the same once around the batch in transactionMode "all"', async () => {
    const { app } = await bootApp({ ...base(), transactionMode: 'all' }, { migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS)] });
    await app.close();
    expect(postCount()).toEqual({ n: 3 });
  });

  it('rolls back a migration that orphans rows, naming the table and the count', async () => {
    const orphaning = migration('002_drop_user', (db) => {
      db.exec('DELETE FROM users WHERE id = 1');
    });
    const { error } = await bootFailure(base(), { migrations: [PARENT_WITH_CHILDREN, orphaning] });
    expect(error).toBeInstanceOf(ForeignKeyViolationError);
    expect(error.message).toContain('Migration "002_drop_user" left rows that violate foreign keys: posts (2 new rows)');
    expect(historyNames(t.db)).toEqual(['001_users_posts']);
    expect(inspect(t.db, (d) => d.prepare('SELECT COUNT(*) AS n FROM users').get())).toEqual({ n: 2 });
  });

  it('does not blame a migration for violations the database already had', async () => {
    await (await bootApp(base(), { migrations: [PARENT_WITH_CHILDREN] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.pragma('foreign_keys = OFF');
    conn.exec("INSERT INTO posts VALUES (99, 42, 'orphan from long ago')");
    conn.close();
    const { app } = await bootApp(base(), { migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS)] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_rebuild_users']);
    expect(postCount()).toEqual({ n: 4 });
  });

  it("keeps enforcement on for foreignKeys: 'enforce', so ON DELETE CASCADE fires", async () => {
    const cascade = migration(
      '002_remove_user',
      (db) => {
        db.exec('DELETE FROM users WHERE id = 1');
      },
      { foreignKeys: 'enforce' },
    );
    const { app } = await bootApp(base(), { migrations: [PARENT_WITH_CHILDREN, cascade] });
    await app.close();
    expect(postCount()).toEqual({ n: 1 });
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_remove_user']);
  });

  it("turns enforcement back on for an 'enforce' migration between 'check' ones, and for the migration connection after the run", async () => {
    const migrationConnection = (app: INestApplicationContext) => app.get<DatabaseDriver>(MIGRATION_DRIVER).session.connection as BetterSqlite3.Database;
    const cascade = migration(
      '003_remove_user',
      (db) => {
        db.exec('DELETE FROM users WHERE id = 1');
      },
      { foreignKeys: 'enforce' },
    );
    const { app } = await bootApp(base(), {
      migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS), cascade, migration('004_rebuild_users_again', REBUILD_USERS)],
    });
    expect(migrationConnection(app).pragma('foreign_keys', { simple: true })).toBe(1);
    await app.close();
    // The rebuilds kept every post; the cascade between them removed user 1's two.
    expect(postCount()).toEqual({ n: 1 });
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_rebuild_users', '003_remove_user', '004_rebuild_users_again']);
  });

  it('turns enforcement back on for the migration connection when a run fails midway', async () => {
    const failing = migration('003_fails', () => {
      throw new Error('boom');
    });
    const { app } = await bootApp(
      { ...base(), failOnError: false },
      { migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS), failing] },
    );
    expect((app.get<DatabaseDriver>(MIGRATION_DRIVER).session.connection as BetterSqlite3.Database).pragma('foreign_keys', { simple: true })).toBe(1);
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_rebuild_users']);
  });

  it('with a :memory: database, whose one connection the app shares, enforcement is on between migrations', async () => {
    const { app } = await bootApp(
      { database: ':memory:', backup: false },
      {
        migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS), migration('003_rebuild_users_again', REBUILD_USERS)],
        providers: [UsesDatabase],
      },
      { init: false },
    );
    const db = app.get(UsesDatabase).db;
    const seen: unknown[] = [];
    app.get(AutoMigrationService).events$.subscribe((event) => {
      if (event.type === 'migration-applied') seen.push(db.pragma('foreign_keys', { simple: true }));
    });
    await app.init();
    const posts = db.prepare('SELECT COUNT(*) AS n FROM posts').get();
    await app.close();
    expect(seen).toEqual([1, 1, 1]);
    expect(posts).toEqual({ n: 3 });
  });

  it('reports, without rolling back, new violations of a transaction: false migration', async () => {
    const orphaning = migration(
      '002_drop_user',
      (db) => {
        db.exec('DELETE FROM users WHERE id = 2');
      },
      { transaction: false },
    );
    const { app, logger } = await bootApp(base(), { migrations: [PARENT_WITH_CHILDREN, orphaning] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_users_posts', '002_drop_user']);
    expect(logger.lines).toContain(
      'WARN [AutoMigration] Migration "002_drop_user" (transaction: false) left rows that violate foreign keys: posts (1). Check them with PRAGMA foreign_key_check.',
    );
  });

  it("rolls back the whole batch in transactionMode 'all' when it orphans rows", async () => {
    const orphaning = migration('003_drop_user', (db) => {
      db.exec('DELETE FROM users WHERE id = 2');
    });
    const { error } = await bootFailure(
      { ...base(), transactionMode: 'all' },
      { migrations: [PARENT_WITH_CHILDREN, migration('002_rebuild_users', REBUILD_USERS), orphaning] },
    );
    expect(error).toBeInstanceOf(ForeignKeyViolationError);
    expect(error.message).toContain(
      'Migrations "001_users_posts", "002_rebuild_users", "003_drop_user" left rows that violate foreign keys: posts (1 new row)',
    );
    expect(inspect(t.db, (d) => d.prepare("SELECT name FROM sqlite_master WHERE name IN ('users', 'posts')").all())).toEqual([]);
  });

  it('a check that fails after up() rolls everything back, restores enforcement and frees the lease', async () => {
    // Rebuilding the parent without its key leaves a foreign key SQLite cannot check ("foreign key mismatch").
    const breaksTheKey = migration('002_users_without_key', (db) => {
      db.exec(
        'CREATE TABLE users_new (id INTEGER, email TEXT); INSERT INTO users_new SELECT id, email FROM users; DROP TABLE users; ALTER TABLE users_new RENAME TO users;',
      );
    });
    const { app } = await bootApp({ ...base(), failOnError: false }, { migrations: [PARENT_WITH_CHILDREN, breaksTheKey], providers: [UsesDatabase] });
    const appDb = app.get(UsesDatabase).db;
    expect(appDb.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(appDb.inTransaction).toBe(false);
    expect((await app.get(AutoMigrationService).getStatus()).lastError).toMatchObject({
      code: 'FOREIGN_KEY_MISMATCH',
      message: expect.stringContaining('left foreign keys of posts referencing a parent key that is missing or not unique'),
    });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_users_posts']);
    expect(postCount()).toEqual({ n: 3 });
    expect(inspect(t.db, (d) => d.prepare('SELECT in_progress FROM migration_lock').get())).toEqual({ in_progress: 0 });
  });

  it('does not let a foreign key an old database already breaks block every migration', async () => {
    await (await bootApp(base(), { migrations: [migration('001_a')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec("CREATE TABLE a (code TEXT); CREATE TABLE b (code TEXT REFERENCES a(code)); INSERT INTO a VALUES ('x')");
    conn.close();
    const { app, logger } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b')] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
    expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^WARN \[AutoMigration\] Foreign keys of b cannot be checked/)]));
  });
});

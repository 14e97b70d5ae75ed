import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteDriver } from '../../src/auto-migration/driver/sqlite/sqlite-driver';
import { AutoMigrationService, ChecksumMismatchError, DuplicateMigrationError, InvalidMigrationError, MigrationFailedError } from '../../src/auto-migration';
import { DISCOVERED_MIGRATIONS } from '../../src/auto-migration/auto-migration.constants';
import type { MigrationDefinition } from '../../src/auto-migration/discovery/migration-definition';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A table, an audit table, and a trigger whose body holds two statements (so two `;`). */
const AUDIT = `-- version: 1.2.0
-- description: Items with an audit trigger

CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE audit (item_id INTEGER, note TEXT);
CREATE TRIGGER items_audit AFTER INSERT ON items
BEGIN
  INSERT INTO audit (item_id, note) VALUES (NEW.id, 'created; first');
  INSERT INTO audit (item_id, note) VALUES (NEW.id, 'created; second');
END;
`;

const TAGS = `-- version: 1.4.0
-- description: Tags
CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);
`;

describe('SQL-file migrations (migrationsDir)', () => {
  const t = useTempDatabase();
  let folder: string;
  beforeEach(() => {
    folder = t.dir.file('migrations');
    mkdirSync(folder);
  });
  const write = (name: string, text: string) => writeFileSync(`${folder}/${name}`, text);
  const base = () => ({ database: t.db, backup: false as const, migrationsDir: folder });
  const boot = async (migrations: ReturnType<typeof migration>[] = []) => (await bootApp(base(), { migrations })).app.close();
  const history = () =>
    inspect(t.db, (db) => db.prepare('SELECT name, version, description, checksum FROM migrations ORDER BY id').all()) as {
      name: string;
      version: string;
      description: string;
      checksum: string;
    }[];

  it('runs a file whole: a trigger whose body contains semicolons is created and fires', async () => {
    write('001_items.sql', AUDIT);
    await boot();
    const db = new BetterSqlite3(t.db);
    try {
      db.prepare("INSERT INTO items (label) VALUES ('a')").run();
      expect(db.prepare('SELECT item_id, note FROM audit ORDER BY rowid').all()).toEqual([
        { item_id: 1, note: 'created; first' },
        { item_id: 1, note: 'created; second' },
      ]);
    } finally {
      db.close();
    }
    expect(history()).toEqual([{ name: '001_items', version: '1.2.0', description: 'Items with an audit trigger', checksum: sha256(AUDIT) }]);
  });

  it('orders files and classes together by name, recording version, description and checksum of each file', async () => {
    const ran: string[] = [];
    const first = migration('001_users', (db) => {
      ran.push('001_users');
      db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    });
    // Needs the file's table: it fails unless 002 ran before it.
    const third = migration('003_seed', (db) => {
      ran.push('003_seed');
      db.exec("INSERT INTO tags (label) VALUES ('x')");
    });
    const posts = `-- version: 1.3.0\n-- description: Posts of users\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));\n`;
    write('002_tags.sql', TAGS);
    write('002_posts.sql', posts);
    await boot([third, first]);
    expect(ran).toEqual(['001_users', '003_seed']);
    expect(history()).toEqual([
      { name: '001_users', version: '1.0.0', description: 'test 001_users', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { name: '002_posts', version: '1.3.0', description: 'Posts of users', checksum: sha256(posts) },
      { name: '002_tags', version: '1.4.0', description: 'Tags', checksum: sha256(TAGS) },
      { name: '003_seed', version: '1.0.0', description: 'test 003_seed', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
  });

  it('stores the checksum of the LF text for a file with CRLF line endings', async () => {
    write('002_tags.sql', TAGS.replace(/\n/g, '\r\n'));
    await boot();
    expect(history()).toEqual([{ name: '002_tags', version: '1.4.0', description: 'Tags', checksum: sha256(TAGS) }]);
  });

  it('shows file migrations in the status like classes, with no file path', async () => {
    write('002_tags.sql', TAGS);
    const { app } = await bootApp(base(), {});
    try {
      const status = await app.get(AutoMigrationService).getStatus();
      expect(status.state).toBe('up-to-date');
      expect(status.applied).toEqual([expect.objectContaining({ name: '002_tags', version: '1.4.0', description: 'Tags', checksum: sha256(TAGS) })]);
      expect(JSON.stringify(status)).not.toContain(folder);
    } finally {
      await app.close();
    }
  });

  it('runs a file with "-- transaction: false" outside a transaction (VACUUM)', async () => {
    write('001_tags.sql', TAGS);
    write('002_vacuum.sql', '-- version: 1.5.0\n-- transaction: false\nVACUUM;\n');
    await boot();
    expect(historyNames(t.db)).toEqual(['001_tags', '002_vacuum']);
  });

  it('runs a file inside a transaction by default: a failing statement undoes the ones before it', async () => {
    write('001_tags.sql', TAGS);
    write('002_broken.sql', '-- version: 1.5.0\nCREATE TABLE half (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n');
    const { error } = await bootFailure(base());
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error.message).toContain('002_broken');
    expect(error.message).toContain('no such table: no_such_table');
    expect(historyNames(t.db)).toEqual(['001_tags']);
    expect(tableNames(t.db)).not.toContain('half');
  });

  it("exposes <name>.down.sql as the migration's down(), and no down() without one", async () => {
    write('001_tags.sql', TAGS);
    write('001_tags.down.sql', '-- Undo 001_tags\nDROP TABLE tags;\n');
    write('002_items.sql', AUDIT);
    const { app } = await bootApp(base(), {});
    let definitions: MigrationDefinition[];
    try {
      definitions = app.get(DISCOVERED_MIGRATIONS, { strict: false });
    } finally {
      await app.close();
    }
    const [tags, items] = definitions;
    expect(tags).toMatchObject({ name: '001_tags', source: 'sql', className: '001_tags.sql' });
    expect(typeof items.instance().down).toBe('undefined');
    expect(typeof tags.instance().down).toBe('function');
    const db = new BetterSqlite3(t.db);
    // The SQLite driver registers how a script runs on the connections it hands to down(db).
    new SqliteDriver(db).runsScripts();
    try {
      await tags.instance().down!(db);
    } finally {
      db.close();
    }
    expect(tableNames(t.db)).not.toContain('tags');
  });

  describe('checksums', () => {
    it('refuses an applied file whose SQL changed, but not one whose line endings changed', async () => {
      write('001_tags.sql', TAGS);
      await boot();
      const stored = sha256(TAGS);

      write('001_tags.sql', TAGS.replace(/\n/g, '\r\n'));
      write('002_items.sql', AUDIT);
      await boot();
      expect(history().map((h) => [h.name, h.checksum])).toEqual([
        ['001_tags', stored],
        ['002_items', sha256(AUDIT)],
      ]);

      const changed = TAGS.replace('label TEXT', 'label TEXT NOT NULL');
      write('001_tags.sql', changed);
      write('003_more.sql', '-- version: 1.6.0\nCREATE TABLE more (id INTEGER);\n');
      const { error } = await bootFailure({ ...base(), failOnError: false });
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(error.message).toContain(`"001_tags": stored ${stored}, current ${sha256(changed)}`);
      expect(historyNames(t.db)).toEqual(['001_tags', '002_items']);
    });
  });

  describe('refusals leave the database untouched', () => {
    let bytes: Buffer;
    beforeEach(() => {
      const conn = new BetterSqlite3(t.db);
      conn.exec("CREATE TABLE precious (v TEXT); INSERT INTO precious VALUES ('keep me')");
      conn.close();
      bytes = readFileSync(t.db);
    });

    function expectUntouched(): void {
      expect(readFileSync(t.db).equals(bytes)).toBe(true);
      expect(readdirSync(t.dir.path).sort()).toEqual(['app.db', 'migrations']);
    }

    it('refuses a file without a version header, naming the file', async () => {
      write('001_tags.sql', TAGS);
      write('002_items.sql', AUDIT.replace('-- version: 1.2.0\n', ''));
      const { error } = await bootFailure({ ...base(), failOnError: false });
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect((error as InvalidMigrationError).problems).toEqual([
        `${folder}/002_items.sql: has no "-- version: 1.4.0" header comment (the release that introduced the migration; required)`,
      ]);
      expectUntouched();
    });

    it('refuses an unknown header key, naming the file and the key, with the class problems in the same error', async () => {
      write('001_tags.sql', TAGS.replace('-- description:', '-- descripton:'));
      const bad = migration('002_bad', undefined, { version: '1.0' });
      const { error } = await bootFailure(base(), { migrations: [bad] });
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error.message).toContain(`${folder}/001_tags.sql: unknown header key "descripton"`);
      expect(error.message).toContain('M002_bad ("002_bad"): version "1.0" is not a semantic version');
      expectUntouched();
    });

    it('refuses a class and a file with the same name, naming both', async () => {
      write('002_tags.sql', TAGS);
      const { error } = await bootFailure(base(), { migrations: [migration('001_users'), migration('002_tags')] });
      expect(error).toBeInstanceOf(DuplicateMigrationError);
      expect(error.message).toContain(`"002_tags" is declared by M002_tags and ${folder}/002_tags.sql`);
      expectUntouched();
    });

    it('refuses a down file without its migration, naming it', async () => {
      write('001_tags.sql', TAGS);
      write('002_items.down.sql', 'DROP TABLE items;\n');
      const { error } = await bootFailure(base());
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error.message).toContain(`${folder}/002_items.down.sql: down file without its migration "002_items.sql"`);
      expectUntouched();
    });

    it('refuses a configured folder that does not exist, naming the path', async () => {
      const missing = t.dir.file('no-such-folder');
      const { error } = await bootFailure({ ...base(), migrationsDir: missing });
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error.message).toContain(`migrationsDir: the folder "${missing}" does not exist`);
      expectUntouched();
    });
  });

  it('does not create the database when the folder is refused', async () => {
    const { error } = await bootFailure({ ...base(), migrationsDir: t.dir.file('nope') });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(existsSync(t.db)).toBe(false);
  });
});

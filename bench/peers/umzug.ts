/**
 * Umzug 3 on better-sqlite3. Umzug is storage-agnostic and ships no SQLite storage, so this is the
 * small custom storage its README asks for (an `UmzugStorage`), and the migrations are an
 * in-memory array whose `up` gets the connection as Umzug's `context`: the same classes the raw
 * baselines run.
 *
 * Umzug runs no transactions. Its `migrating` / `migrated` events frame each migration (its README:
 * "a convenient place to implement application-specific logic that must run around each
 * migration"), and the storage row is written between the two, so each migration and its row
 * commit together, as in raw-each.
 */
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { FileLocker, Umzug, type MigrationParams, type UmzugStorage } from 'umzug';
import { migrationClasses, migrationName, type UpHook } from '../shared';
import type { Migrator } from '../tools';

class BetterSqlite3Storage implements UmzugStorage<Database> {
  private readonly insert;
  private readonly remove;
  private readonly names;

  constructor(db: Database) {
    db.exec('CREATE TABLE IF NOT EXISTS umzug_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    this.insert = db.prepare('INSERT INTO umzug_migrations (name, applied_at) VALUES (?, ?)');
    this.remove = db.prepare('DELETE FROM umzug_migrations WHERE name = ?');
    this.names = db.prepare('SELECT name FROM umzug_migrations ORDER BY name').pluck();
  }

  async logMigration({ name }: MigrationParams<Database>): Promise<void> {
    this.insert.run(name, new Date().toISOString());
  }

  async unlogMigration({ name }: MigrationParams<Database>): Promise<void> {
    this.remove.run(name);
  }

  async executed(): Promise<string[]> {
    return this.names.all() as string[];
  }
}

/**
 * `fileLocker`: attach Umzug's own FileLocker (a lock file beside the database, taken around every
 * command), the lock its README offers for processes that may run at once.
 */
export function umzugMigrator(n: number, { fileLocker }: { fileLocker: boolean }, onUp?: UpHook): Migrator {
  const migrations = migrationClasses(n, onUp).map((Type, k) => ({
    name: migrationName(k + 1, n),
    up: async ({ context }: MigrationParams<Database>) => new Type().up(context),
  }));
  return {
    async migrate(file) {
      const db = new BetterSqlite3(file);
      try {
        const umzug = new Umzug({ migrations, context: db, storage: new BetterSqlite3Storage(db), logger: undefined });
        // FileLocker's declaration takes an Umzug<object> only; the context type plays no part in it.
        if (fileLocker) FileLocker.attach(umzug as unknown as Umzug, { path: `${file}.umzug-lock` });
        const begin = db.prepare('BEGIN IMMEDIATE');
        const commit = db.prepare('COMMIT');
        umzug.on('migrating', () => void begin.run());
        umzug.on('migrated', () => void commit.run());
        await umzug.up();
      } finally {
        // A failed migration leaves its transaction open: undo it, as a rollback would.
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      }
    },
  };
}

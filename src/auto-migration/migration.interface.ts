import type { RuleId } from './safety/rules';

/**
 * What a migration class implements. `up` receives the migration connection: a connection of
 * its own, so nothing the application does meanwhile can land inside the migration's transaction.
 * `Connection` is that connection's type, as your database's driver gives it: for SQLite
 * the SQLite client's `Database` (`up(db: Database)` compiles with or without the type argument).
 *
 * @example
 * ```ts
 * @Migration({ name: '001_create_users', version: '1.0.0' })
 * export class CreateUsers implements MigrationInterface<Database> {
 *   up(db: Database) {
 *     db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)');
 *   }
 *   down(db: Database) {
 *     db.exec('DROP TABLE users');
 *   }
 * }
 * ```
 */
export interface MigrationInterface<Connection = unknown> {
  /** Applies the change. May be synchronous or return a Promise. */
  up(db: Connection): void | Promise<void>;
  /** Reverts the change (`down` on the command line, `AutoMigrationService.revert()`). */
  down?(db: Connection): void | Promise<void>;
}

/** Fields of the `@Migration()` decorator. */
export interface MigrationOptions {
  /**
   * Unique name; migrations apply in ascending code-unit order of their names. Starts with a
   * numeric or timestamp prefix of the same width as every other migration's (`001_create_users`).
   */
  name: string;
  /** Semantic version of the application release that introduced the migration (`1.4.0`). */
  version: string;
  /** Free text shown in status and history. */
  description?: string;
  /**
   * Run inside a transaction together with its history row.
   * Set `false` for statements the database refuses inside a transaction (SQLite: `VACUUM`, `PRAGMA journal_mode`).
   * @default true
   */
  transaction?: boolean;
  /**
   * Foreign keys while it runs. `'check'`: enforcement is turned off around it (so a table rebuild
   * cannot cascade-delete child rows) and the runner refuses to commit if it left new violations.
   * `'enforce'`: enforcement stays on, for a migration that relies on `ON DELETE CASCADE` firing.
   * @default 'check'
   */
  foreignKeys?: 'check' | 'enforce';
  /**
   * Safety-analysis findings this migration accepts (`nest-auto-migration lint`, `safety` option):
   * they are still shown, marked accepted, and never fail the check. The way strong_migrations'
   * `safety_assured` works: say that you know.
   * @example ['drop-column']
   */
  allow?: RuleId[];
  /**
   * The instance the migration belongs to, in an app with several databases: the `name` given to
   * `AutoMigrationModule.forRoot({ name, ... })`. A name no import has fails start-up before any
   * database is opened.
   * @default 'default' (the import without a name)
   */
  database?: string;
  /**
   * Explicit checksum stored in history instead of the one derived from the class source.
   * Use it to pin a migration whose compiled code may change without its meaning changing.
   */
  checksum?: string;
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { DISCOVERED_MIGRATIONS, LOG_CONTEXT, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { openSqlite } from './open-sqlite';

/**
 * Owns the two connections the module opens: the application's (`@InjectMigrationDatabase()`)
 * and the migration connection that `up(db)` receives. Separate connections mean that nothing
 * the application does while an async `up()` awaits can land inside the migration's
 * transaction. A `:memory:` database exists only inside one connection, so there both are one.
 * `MigrationShutdown` closes them.
 */
@Injectable()
export class DatabaseConnections {
  readonly app: Database;
  readonly migration: Database;
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_OPTIONS) options: ResolvedAutoMigrationOptions,
    // Depending on the discovered migrations makes Nest validate them first: a bad definition
    // fails start-up before the database file is opened, so the file stays byte-identical.
    @Inject(DISCOVERED_MIGRATIONS) _validatedFirst: unknown,
  ) {
    this.logger.log(`Database: ${options.database}`);
    this.app = openSqlite(options.database, options.pragmas);
    try {
      this.migration = options.inMemory ? this.app : openSqlite(options.database, options.pragmas);
    } catch (error) {
      this.app.close();
      throw error;
    }
  }

  /** Closes both connections. Idempotent. Called on shutdown, once no run is in progress. */
  close(): void {
    for (const db of new Set([this.migration, this.app])) if (db.open) db.close();
  }
}

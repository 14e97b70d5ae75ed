import { existsSync } from 'node:fs';
import type { Logger } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { CLI_CONTEXT } from '../../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../../auto-migration.options';
import { DatabaseUnavailableError } from '../../errors/database-unavailable.error';
import { databasePragmas, journalModeAdvice } from './journal-mode';
import { openCauseContext } from './open-cause-context';
import { openSqlite } from './open-sqlite';

/**
 * The two connections the module opens: the application's (`@InjectMigrationDatabase()`) and the
 * migration connection that `up(db)` receives. Separate connections mean that nothing the
 * application does while an async `up()` awaits can land inside the migration's transaction. A
 * `:memory:` database exists only inside one connection, so there both are one.
 */
export class SqliteConnections {
  readonly app: Database;
  private opened?: Database;
  private closed = false;
  private readonly openMigration: () => Database;

  constructor(options: ResolvedAutoMigrationOptions, logger: Logger) {
    assertVerifyCreatesNothing(options);
    const advice = journalModeAdvice(options.database, options.pragmas, options.inMemory);
    const pragmas = databasePragmas(options.database, options.pragmas, options.inMemory);
    const context = () => openCauseContext(options);
    this.app = openSqlite(options.database, pragmas, { context });
    // WAL is a property of the file, which the application's connection has set: switching it
    // again would only meet another process's writes (SQLITE_BUSY without waiting). Any other
    // journal mode is a property of each connection.
    const { journal_mode, ...rest } = pragmas;
    const migrationPragmas = journal_mode === 'wal' ? rest : pragmas;
    this.openMigration = () => (options.inMemory ? this.app : openSqlite(options.database, migrationPragmas, { context }));
    // In 'background' mode the application serves requests while migrations write: there it matters.
    if (advice) logger[options.mode === 'background' ? 'warn' : 'log'](advice);
  }

  /**
   * The migration connection, opened on first use: a start with nothing pending reads through the
   * application's connection and never opens it.
   */
  get migration(): Database {
    if (this.closed) throw new Error('the database connections are closed: the application is shutting down');
    this.opened ??= this.openMigration();
    return this.opened;
  }

  /** Closes both connections. Idempotent; nothing opens again afterwards. */
  close(): void {
    this.closed = true;
    for (const db of new Set([this.opened, this.app])) if (db?.open) db.close();
  }
}

/**
 * `mode: 'verify'` never writes, so it must not create the database either (opening a missing
 * file creates an empty one). A missing file is most often a wrong path or a volume not mounted;
 * the migration job creates it. Under the command-line tool the mode does not apply: `up` creates it.
 */
function assertVerifyCreatesNothing(options: ResolvedAutoMigrationOptions): void {
  if (options.mode !== 'verify' || options.inMemory || (globalThis as Record<symbol, unknown>)[CLI_CONTEXT] === true) return;
  if (existsSync(options.database)) return;
  throw new DatabaseUnavailableError(
    options.database,
    new Error(
      "the file does not exist, and mode 'verify' creates nothing (it never writes; nothing was created). " +
        'Run the migration job (`npx nest-auto-migration up`) first, which creates and migrates it, or fix the path',
    ),
  );
}

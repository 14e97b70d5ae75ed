import type { ResolvedAutoMigrationOptions } from '../../auto-migration.options';
import type { CopyRehearsal, FileBackups } from '../capabilities';
import type { DatabaseDriver } from '../database-driver';
import type { MigrationLock } from '../migration-lock';
import { InProcessLock } from './in-process-lock';
import { lockPathFor } from './lock-path';
import { SqliteConnections } from './sqlite-connections';
import { SqliteDriver } from './sqlite-driver';
import { SqliteFileBackups } from './sqlite-file-backups';
import { SqliteFileLock } from './sqlite-file-lock';
import { SqliteRehearsal } from './sqlite-rehearsal';

/**
 * A SQLite database (better-sqlite3): the file, its two connections, the sidecar file lock
 * (`<database>.migration-lock`), file backups and rehearsal copies. `:memory:` has one connection,
 * an in-process lock and no backups.
 */
export class SqliteDatabaseDriver implements DatabaseDriver {
  readonly appHandle: unknown;
  readonly target: string;
  readonly inMemory: boolean;
  readonly history: SqliteDriver;
  readonly lease: SqliteDriver;
  readonly session: SqliteDriver;
  readonly foreignKeys: SqliteDriver;
  readonly lock: MigrationLock;
  readonly fileBackups?: FileBackups;
  readonly rehearsal: CopyRehearsal;
  private readonly connections: SqliteConnections;

  constructor(options: ResolvedAutoMigrationOptions) {
    this.connections = new SqliteConnections(options);
    this.appHandle = this.connections.app;
    this.target = options.database;
    this.inMemory = options.inMemory;
    // One connection, one prepared-statement cache: the history, the lease row and the
    // migrations' transactions share the migration connection.
    const driver = new SqliteDriver(this.connections.migration);
    this.history = this.lease = this.session = this.foreignKeys = driver;
    this.lock = options.inMemory ? new InProcessLock() : new SqliteFileLock(lockPathFor(options.database));
    if (!options.inMemory) this.fileBackups = new SqliteFileBackups(options.database, this.connections.migration);
    this.rehearsal = new SqliteRehearsal(this.connections.migration, options.database, options.pragmas);
  }

  close(): Promise<void> {
    this.connections.close();
    return Promise.resolve();
  }
}

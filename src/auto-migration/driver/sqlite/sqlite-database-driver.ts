import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import type { ResolvedAutoMigrationOptions } from '../../auto-migration.options';
import { classifyCause, registerCauseClassifier } from '../../errors/cause-advice';
import type { CopyRehearsal, FileBackups } from '../capabilities';
import type { DatabaseDriver } from '../database-driver';
import type { MigrationLock } from '../migration-lock';
import { InProcessLock } from './in-process-lock';
import { lockPathFor } from './lock-path';
import { sqliteCauses } from './sqlite-cause';
import { SqliteConnections } from './sqlite-connections';
import { SqliteDriver } from './sqlite-driver';
import { SqliteFileBackups } from './sqlite-file-backups';
import { SqliteFileLock } from './sqlite-file-lock';
import { SqliteHistoryProbe } from './sqlite-history-probe';
import { SqliteRehearsal } from './sqlite-rehearsal';

// Loaded before this driver opens anything: every error wrapping a SQLite failure reads its kind and advice through it.
registerCauseClassifier(sqliteCauses);

/** better-sqlite3's busy timeout when `pragmas.busy_timeout` is not set. */
const SQLITE_CLIENT_BUSY_TIMEOUT_MS = 5_000;

/**
 * A SQLite database (better-sqlite3): the file, its two connections, the sidecar file lock
 * (`<database>.migration-lock`), file backups and rehearsal copies. `:memory:` has one connection,
 * an in-process lock and no backups.
 */
export class SqliteDatabaseDriver implements DatabaseDriver {
  readonly appHandle: unknown;
  readonly target: string;
  readonly inMemory: boolean;
  readonly probe: SqliteHistoryProbe;
  readonly lock: MigrationLock;
  readonly fileBackups?: FileBackups;
  readonly rehearsal: CopyRehearsal;
  private readonly connections: SqliteConnections;
  private migrationDriver?: SqliteDriver;

  /**
   * Opens the database. Two processes that open a new file together may find it busy at once: its
   * switch to WAL answers SQLITE_BUSY without waiting in SQLite's busy handler while the other
   * process switches it or writes its first transaction. That is retried, for as long as the busy
   * timeout allows, as a wait for a lock would be.
   */
  static async open(options: ResolvedAutoMigrationOptions, logger: Logger): Promise<SqliteDatabaseDriver> {
    // Once, before the first attempt: a retry is not another database.
    logger.log(`Database: ${options.database}`);
    const deadline = Date.now() + (options.pragmas.busy_timeout ?? SQLITE_CLIENT_BUSY_TIMEOUT_MS);
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        return new SqliteDatabaseDriver(options, logger);
      } catch (error) {
        if (classifyCause(error).kind !== 'busy' || Date.now() >= deadline) throw error;
        await sleep(delay + Math.random() * delay);
      }
    }
  }

  private constructor(options: ResolvedAutoMigrationOptions, logger: Logger) {
    this.connections = new SqliteConnections(options, logger);
    this.appHandle = this.connections.app;
    this.target = options.database;
    this.inMemory = options.inMemory;
    if (options.inMemory) {
      this.lock = new InProcessLock();
      this.probe = new SqliteHistoryProbe(this.connections.app);
    } else {
      const lock = new SqliteFileLock(lockPathFor(options.database), logger);
      this.lock = lock;
      this.probe = new SqliteHistoryProbe(this.connections.app, () => lock.stamp());
    }
    const migration = () => this.connections.migration;
    if (!options.inMemory) this.fileBackups = new SqliteFileBackups(options.database, migration);
    this.rehearsal = new SqliteRehearsal(migration, options.database, options.pragmas);
  }

  /**
   * One connection, one prepared-statement cache: the history, the lease row and the migrations'
   * transactions share the migration connection, opened on first use.
   */
  private get driver(): SqliteDriver {
    this.migrationDriver ??= new SqliteDriver(this.connections.migration).runsScripts();
    return this.migrationDriver;
  }

  get history(): SqliteDriver {
    return this.driver;
  }

  get lease(): SqliteDriver {
    return this.driver;
  }

  get session(): SqliteDriver {
    return this.driver;
  }

  get foreignKeys(): SqliteDriver {
    return this.driver;
  }

  close(): Promise<void> {
    this.connections.close();
    return Promise.resolve();
  }
}

import { Logger } from '@nestjs/common';
import type { Database, Statement } from 'better-sqlite3';
import { LOG_CONTEXT } from '../../auto-migration.constants';
import { DatabaseUnavailableError } from '../../errors/database-unavailable.error';
import type { LockHolderNote, LockRequest, MigrationLock } from '../migration-lock';
import { pollForLock } from '../poll-lock';
import { HolderFile } from './holder-file';
import { openSqlite } from './open-sqlite';

/**
 * Cross-process lock held as an open `BEGIN IMMEDIATE` transaction on a small sidecar SQLite
 * file next to the database (`<database>.migration-lock`). SQLite's file lock is released by
 * the operating system when the holder dies, so a crash never leaves the lock stuck, and the
 * main database stays free for readers and the migrations' own transactions.
 *
 * The lock connection has a busy timeout of 0: a taken lock answers SQLITE_BUSY at once and we
 * retry with backoff on timers, instead of letting SQLite's busy handler block the event loop.
 *
 * The holder also writes `<lock file>.holder` (see `HolderFile`), so that others can name it even
 * while its commit locks every reader out of the database.
 */
export class SqliteFileLock implements MigrationLock {
  private held?: Database;
  private readonly holderFile: HolderFile;

  constructor(
    readonly lockPath: string,
    // The driver passes its instance's logger; a lock built by itself (a test's other holder) logs as the default instance.
    private readonly logger: Logger = new Logger(LOG_CONTEXT),
  ) {
    this.holderFile = new HolderFile(`${lockPath}.holder`);
  }

  async acquire({ owner, ...request }: LockRequest): Promise<boolean> {
    // Callers in one process are serialised before they get here; a second acquire is a bug.
    if (this.held) throw new Error(`the migration lock ${this.lockPath} is already held by this instance`);
    const db = openSqlite(this.lockPath, {}, { timeout: 0 });
    const begin = db.prepare('BEGIN IMMEDIATE');
    const tryOnce = () => {
      if (!tryBegin(begin, this.lockPath)) return false;
      this.held = db;
      // At once, before anything else runs: from now on others read the holder's name here.
      if (!this.holderFile.write(owner))
        this.logger.warn('Could not write the lock holder file: status in other processes may not name this holder while the database is locked');
      return true;
    };
    return pollForLock(request, tryOnce, () => {
      db.close();
    });
  }

  isHeld(): Promise<boolean> {
    return Promise.resolve(this.probe());
  }

  holder(): LockHolderNote | null {
    return this.holderFile.read();
  }

  /** Moves whenever any process takes or gives up this lock (see `HolderFile.stamp()`): part of the database's change marker. */
  stamp(): string {
    return this.holderFile.stamp();
  }

  private probe(): boolean {
    if (this.held) return true;
    // Probe: take the lock and give it back at once. A runner that tries in the same instant
    // sees SQLITE_BUSY and retries after its backoff, as with any other holder.
    const probe = openSqlite(this.lockPath, {}, { timeout: 0 });
    try {
      if (!tryBegin(probe.prepare('BEGIN IMMEDIATE'), this.lockPath)) return true;
      probe.exec('ROLLBACK');
      return false;
    } finally {
      probe.close();
    }
  }

  release(): Promise<void> {
    const db = this.held;
    this.held = undefined;
    if (db) this.holderFile.remove();
    // Closing the connection ends its transaction and frees SQLite's file lock.
    if (db?.open) db.close();
    return Promise.resolve();
  }
}

function tryBegin(begin: Statement, lockPath: string): boolean {
  try {
    begin.run();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw new DatabaseUnavailableError(lockPath, error);
  }
}

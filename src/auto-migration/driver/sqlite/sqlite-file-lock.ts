import type { Database, Statement } from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite } from '../database/open-sqlite';
import { DatabaseUnavailableError } from '../errors/database-unavailable.error';
import { LockTimeoutError } from '../errors/lock-timeout.error';
import type { MigrationLock } from '../driver/migration-driver';

const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;
/**
 * A status probe holds the lock for microseconds; only a lock still taken after this long is
 * reported as a wait, so health checks never cause false "waiting" lines and events.
 */
const REPORT_WAIT_AFTER_MS = 50;

/**
 * Cross-process lock held as an open `BEGIN IMMEDIATE` transaction on a small sidecar SQLite
 * file next to the database (`<database>.migration-lock`). SQLite's file lock is released by
 * the operating system when the holder dies, so a crash never leaves the lock stuck, and the
 * main database stays free for readers and the migrations' own transactions.
 *
 * The lock connection has a busy timeout of 0: a taken lock answers SQLITE_BUSY at once and we
 * retry with backoff on timers, instead of letting SQLite's busy handler block the event loop.
 */
export class SqliteFileLock implements MigrationLock {
  private held?: Database;

  constructor(readonly lockPath: string) {}

  async acquire(timeoutMs: number, onWait: () => void = () => undefined, stillNeeded?: () => Promise<boolean>): Promise<boolean> {
    // Callers in one process are serialised before they get here; a second acquire is a bug.
    if (this.held) throw new Error(`the migration lock ${this.lockPath} is already held by this instance`);
    const db = openSqlite(this.lockPath, {}, { timeout: 0 });
    const begin = db.prepare('BEGIN IMMEDIATE');
    const started = Date.now();
    try {
      for (let delay = FIRST_RETRY_MS, waiting = false; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
        if (tryBegin(begin, this.lockPath)) {
          this.held = db;
          return true;
        }
        const waited = Date.now() - started;
        if (waited >= timeoutMs) throw new LockTimeoutError(waited);
        if (!waiting && waited >= REPORT_WAIT_AFTER_MS) {
          waiting = true;
          onWait();
        }
        // Jitter keeps processes that started together from retrying in lockstep.
        await sleep(Math.min(timeoutMs - waited, delay + Math.random() * delay));
        // Replicas waiting behind the one that migrates are done when it is: they need not take
        // the lock one after another only to find nothing left to do.
        if (stillNeeded && !(await stillNeeded())) {
          db.close();
          return false;
        }
      }
    } catch (error) {
      db.close();
      throw error;
    }
  }

  isHeld(): boolean {
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

  release(): void {
    const db = this.held;
    this.held = undefined;
    // Closing the connection ends its transaction and frees SQLite's file lock.
    if (db?.open) db.close();
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

import type { Database, Statement } from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite } from '../database/open-sqlite';
import { DatabaseOpenError } from '../errors/database-open.error';
import { LockTimeoutError } from '../errors/lock-timeout.error';
import type { MigrationLock } from '../driver/migration-driver';

const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 200;

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

  constructor(readonly lockPath: string, private readonly onWait: () => void = () => undefined) {}

  async acquire(timeoutMs: number): Promise<void> {
    if (this.held) return;
    const db = openSqlite(this.lockPath, {}, { timeout: 0 });
    const begin = db.prepare('BEGIN IMMEDIATE');
    const started = Date.now();
    try {
      for (let delay = FIRST_RETRY_MS, waiting = false; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
        if (tryBegin(begin, this.lockPath)) {
          this.held = db;
          return;
        }
        const waited = Date.now() - started;
        if (waited >= timeoutMs) throw new LockTimeoutError(waited);
        if (!waiting) this.onWait();
        waiting = true;
        // Jitter keeps processes that started together from retrying in lockstep.
        await sleep(Math.min(timeoutMs - waited, delay + Math.random() * delay));
      }
    } catch (error) {
      db.close();
      throw error;
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
    throw new DatabaseOpenError(lockPath, error);
  }
}

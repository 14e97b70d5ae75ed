import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { describeCause } from '../../errors/auto-migration.error';
import { fileSize } from '../../errors/disk-space';
import type { FileBackups } from '../capabilities';

const RETRY_MS = 100;

/**
 * A SQLite file as the backup service works on it. Copies go through `VACUUM INTO` on the
 * migration connection: one consistent snapshot that includes what is only in the write-ahead log
 * (SQLite's step-wise online backup restarts whenever another connection writes, so it may never
 * finish on a busy database). Restores go through SQLite's backup API, which writes like any
 * writer, so every open connection sees the restored content and no stale `-wal` is replayed.
 */
export class SqliteFileBackups implements FileBackups {
  constructor(
    readonly databasePath: string,
    private readonly migration: () => Database,
  ) {}

  copyTo(path: string): void {
    this.migration().prepare('VACUUM INTO ?').run(path);
  }

  verify(path: string, mode: 'quick' | 'full'): 'quick_check' | 'integrity_check' {
    return verifySqliteFile(path, mode);
  }

  sizeBytes(): number {
    return ['', '-wal'].reduce((sum, suffix) => sum + (fileSize(this.databasePath + suffix) ?? 0), 0);
  }

  liveFiles(): string[] {
    return ['', '-wal'].map((suffix) => this.databasePath + suffix).filter((path) => existsSync(path));
  }

  /**
   * The backup API gives up silently when another connection holds a lock, so the result is
   * compared with the copy, and the copy retried until `timeoutMs`.
   */
  async restoreFrom(path: string, timeoutMs: number): Promise<void> {
    const expected = fingerprint(path);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const source = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
      try {
        await source.backup(this.databasePath);
      } finally {
        source.close();
      }
      if (fingerprint(this.databasePath) === expected) return;
      if (Date.now() >= deadline) throw new Error(`the copy did not land within lock.timeoutMs (${timeoutMs} ms)`);
      await sleep(RETRY_MS);
    }
  }
}

/** Opens a SQLite file read-only and runs SQLite's check on it; throws unless it answers "ok". @returns the check run */
export function verifySqliteFile(path: string, mode: 'quick' | 'full'): 'quick_check' | 'integrity_check' {
  const check = mode === 'full' ? 'integrity_check' : 'quick_check';
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma(check, { simple: true });
    if (result !== 'ok') throw new Error(`the copy failed SQLite's ${check}: ${String(result)}`);
    return check;
  } catch (error) {
    throw new Error(`"${path}" is not a sound SQLite database: ${describeCause(error)}`, { cause: error });
  } finally {
    db.close();
  }
}

/** Schema and row counts: enough to tell whether a page copy landed. */
function fingerprint(path: string): string {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const schema = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as {
      type: string;
      name: string;
    }[];
    const counts = schema
      .filter((o) => o.type === 'table')
      .map((t) => (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name.replace(/"/g, '""')}"`).get() as { n: number }).n);
    return JSON.stringify([schema, counts]);
  } finally {
    db.close();
  }
}

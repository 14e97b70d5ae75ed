import { readFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/** Opens a file read-only for assertions, runs `fn`, closes it. */
export function inspect<T>(file: string, fn: (db: Database) => T): T {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Runs one write statement on the file through a connection of its own, as another process would. */
export function writeSql(file: string, sql: string, ...params: unknown[]): void {
  const connection = new BetterSqlite3(file);
  try {
    connection.prepare(sql).run(...params);
  } finally {
    connection.close();
  }
}

export function tableNames(file: string): string[] {
  return inspect(file, (db) =>
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    ),
  );
}

export function historyNames(file: string): string[] {
  return inspect(file, (db) => (db.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name));
}

/** The lease row once nobody holds the lock. */
export const CLEARED_LEASE = {
  id: 1,
  in_progress: 0,
  started_at: null,
  owner_host: null,
  owner_pid: null,
  owner_instance: null,
  heartbeat_at: null,
  current_migration: null,
};

/** Overwrites four pages in the middle of a database file (inside its bulk data) with garbage, header and schema intact; returns the new bytes. */
export function smashMiddlePages(file: string, pageSize = 4096): Buffer {
  const bytes = Buffer.from(readFileSync(file));
  const middle = Math.floor(bytes.length / pageSize / 2) * pageSize;
  bytes.fill(0x55, middle, middle + 4 * pageSize);
  writeFileSync(file, bytes);
  return bytes;
}

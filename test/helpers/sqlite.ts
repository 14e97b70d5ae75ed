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

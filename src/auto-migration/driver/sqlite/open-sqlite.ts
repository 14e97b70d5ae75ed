import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../../auto-migration.options';
import { DatabaseUnavailableError } from '../../errors/database-unavailable.error';
import type { CauseContext } from '../../errors/cause-advice';

/** Order in which PRAGMAs apply: the busy timeout first, so the others can wait for a lock. */
const PRAGMA_ORDER: readonly (keyof SqlitePragmas)[] = ['busy_timeout', 'journal_mode', 'synchronous', 'foreign_keys', 'cache_size'];

/**
 * Opens a SQLite connection, creating missing parent folders, checking that an existing file is
 * a database and can be written (SQLite would otherwise silently fall back to read-only), then
 * applies the allow-listed PRAGMAs. Every failure names the path.
 */
export function openSqlite(
  path: string,
  pragmas: SqlitePragmas,
  options: { timeout?: number; verbose?: (sql: unknown) => void; context?: () => CauseContext } = {},
): Database {
  let db: Database | undefined;
  try {
    if (path !== ':memory:') {
      makeFolder(dirname(path));
      accessSync(dirname(path), constants.W_OK);
    }
    if (path !== ':memory:') assertSqliteFile(path);
    db = new BetterSqlite3(path, { ...(options.timeout !== undefined && { timeout: options.timeout }), ...(options.verbose && { verbose: options.verbose }) });
    if (path !== ':memory:') accessSync(path, constants.R_OK | constants.W_OK);
    for (const key of PRAGMA_ORDER) {
      const value = pragmas[key];
      if (value !== undefined) db.pragma(`${key} = ${pragmaValue(value)}`);
    }
    return db;
  } catch (cause) {
    db?.close();
    // The context (the newest backup, for a damaged file) is read only now, when it is needed.
    throw new DatabaseUnavailableError(path, cause, options.context?.());
  }
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Refuses an existing non-empty file that is not a SQLite database, by its header. Cheaper than
 * asking SQLite, which would parse the whole schema first (milliseconds on a large database).
 */
function assertSqliteFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw error;
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read > 0 && !header.equals(SQLITE_HEADER)) throw Object.assign(new Error('file is not a database (no SQLite header)'), { code: 'SQLITE_NOTADB' });
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p, with a message that says which part of the path is not a folder. */
function makeFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    let blocker = folder;
    while (!existsSync(blocker) && dirname(blocker) !== blocker) blocker = dirname(blocker);
    throw new Error(`"${blocker}" is a file, not a folder`);
  }
}

/** Values were validated against an allow-list; this only spells them the way SQLite reads them. */
function pragmaValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF';
  if (typeof value === 'number') return String(Math.trunc(value));
  return value.toUpperCase();
}

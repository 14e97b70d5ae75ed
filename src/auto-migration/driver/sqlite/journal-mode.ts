import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { SqlitePragmas } from '../../auto-migration.options';

/**
 * The PRAGMAs the module's database is opened with. A file that does not exist yet (or is empty)
 * is created in WAL mode, unless `pragmas.journal_mode` says otherwise: readers then never wait
 * for a writer, so the application's reads go on while a migration commits (what better-sqlite3
 * recommends, and what Rails 8 does for SQLite in production). An existing file keeps its mode.
 */
export function databasePragmas(database: string, pragmas: SqlitePragmas, inMemory: boolean): SqlitePragmas {
  if (inMemory || pragmas.journal_mode !== undefined || !isNewFile(database)) return pragmas;
  return { ...pragmas, journal_mode: 'wal' };
}

/**
 * What to tell the operator about an existing file's journal mode, once, at start-up: nothing
 * when it is WAL, new, or the mode was chosen in the options. Read from the file's header, not
 * through SQLite, which would wait for a writer of another process to commit.
 */
export function journalModeAdvice(database: string, pragmas: SqlitePragmas, inMemory: boolean): string | null {
  if (inMemory || pragmas.journal_mode !== undefined || isNewFile(database) || isWalFile(database)) return null;
  return (
    `The database "${database}" uses a rollback journal, kept as it is (the module changes an existing file's journal mode only when told to). ` +
    "While a migration writes, the application's reads through @InjectMigrationDatabase() wait for it and may fail with SQLITE_BUSY; " +
    "in WAL mode they would go on. To switch (once, for every process), set pragmas: { journal_mode: 'wal' }."
  );
}

/** Bytes 18 and 19 of a SQLite header (file format write and read versions) are 2 in WAL mode. */
function isWalFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(20);
    return readSync(fd, header, 0, header.length, 0) === header.length && header[18] === 2 && header[19] === 2;
  } catch {
    // Unreadable: opening it reports that, naming the path.
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isNewFile(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return true;
    // Whatever else is wrong with the path, opening it reports it, naming the path.
    return false;
  }
}

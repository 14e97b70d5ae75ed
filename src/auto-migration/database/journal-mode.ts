import { statSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../auto-migration.options';

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
 * when it is WAL or the mode was chosen in the options.
 */
export function journalModeAdvice(db: Database, database: string, pragmas: SqlitePragmas, inMemory: boolean): string | null {
  if (inMemory || pragmas.journal_mode !== undefined) return null;
  const mode = String(db.pragma('journal_mode', { simple: true }));
  if (mode === 'wal') return null;
  return (
    `The database "${database}" uses the "${mode}" journal, kept as it is (the module changes an existing file's journal mode only when told to). ` +
    "While a migration writes, the application's reads through @InjectMigrationDatabase() wait for it and may fail with SQLITE_BUSY; " +
    "in WAL mode they would go on. To switch (once, for every process), set pragmas: { journal_mode: 'wal' }."
  );
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

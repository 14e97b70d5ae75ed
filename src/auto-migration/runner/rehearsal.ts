import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../auto-migration.options';
import { makePrivateFolder, removeDatabaseFile } from '../backup/private-files';
import { openSqlite } from '../database/open-sqlite';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { SqliteDriver } from '../driver/sqlite/sqlite-driver';
import { RehearsalFailedError } from '../errors/rehearsal-failed.error';

/**
 * Applies the pending migrations to a throwaway copy of the database (never the backup), so that
 * a migration that would fail is caught before the live database is touched. Each migration runs
 * in its own transaction on the copy. Side effects of injected services are not rehearsed: a
 * migration that calls them calls them once here and once for real.
 *
 * @param folder where the copy is written: the backup folder (private), or the temp folder.
 */
export async function rehearse(source: Database, database: string, pragmas: SqlitePragmas, pending: readonly MigrationDefinition[], folder: string | null): Promise<void> {
  const place = folder ?? tmpdir();
  makePrivateFolder(place);
  const copy = join(place, `.${basename(database === ':memory:' ? 'memory' : database)}.rehearsal.${process.pid}.tmp`);
  // Created empty and private first, like a backup: the copy holds the application's data.
  writeFileSync(copy, '', { mode: 0o600 });
  source.prepare('VACUUM INTO ?').run(copy);
  const connection = openSqlite(copy, pragmas);
  try {
    const driver = new SqliteDriver(connection);
    driver.ensureSchema();
    for (const migration of pending) {
      try {
        if (migration.transaction) driver.begin();
        await migration.instance().up(connection as never);
        if (migration.transaction) driver.commit();
      } catch (cause) {
        driver.rollback();
        throw new RehearsalFailedError(migration.name, cause);
      }
    }
  } finally {
    connection.close();
    removeDatabaseFile(copy);
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../auto-migration.options';
import { makePrivateFolder } from '../backup/private-files';
import { openSqlite } from '../database/open-sqlite';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { SqliteDriver } from '../driver/sqlite/sqlite-driver';
import { RehearsalFailedError } from '../errors/rehearsal-failed.error';
import { step } from './database-step';

/**
 * Applies the pending migrations to a throwaway copy of the database (never the backup), so that
 * a migration that would fail is caught before the live database is touched. Each migration runs
 * in its own transaction on the copy. Side effects of injected services are not rehearsed: a
 * migration that calls them calls them once here and once for real.
 *
 * The copy goes into a fresh private folder (mkdtemp, 0700) inside `folder` (the backup folder)
 * or, with backups off, the system's temporary folder, and the folder is removed afterwards.
 */
export async function rehearse(source: Database, database: string, pragmas: SqlitePragmas, pending: readonly MigrationDefinition[], folder: string | null): Promise<void> {
  const parent = folder ?? tmpdir();
  makePrivateFolder(parent);
  const place = mkdtempSync(join(parent, `.${database === ':memory:' ? 'memory' : basename(database)}.rehearsal-`));
  const copy = join(place, 'copy.db');
  try {
    await step('copy the database for the rehearsal', () => {
      // Created empty and private first, like a backup: the copy holds the application's data.
      writeFileSync(copy, '', { mode: 0o600, flag: 'wx' });
      source.prepare('VACUUM INTO ?').run(copy);
    });
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
          throw new RehearsalFailedError(migration.name, cause);
        }
      }
    } finally {
      connection.close();
    }
  } finally {
    rmSync(place, { recursive: true, force: true });
  }
}

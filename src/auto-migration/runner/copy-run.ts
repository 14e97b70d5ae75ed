import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../auto-migration.options';
import { makePrivateFolder } from '../backup/private-files';
import { openSqlite } from '../database/open-sqlite';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { SqliteDriver } from '../driver/sqlite/sqlite-driver';
import { step } from './database-step';

/** One migration as it ran on a copy. */
export interface CopyRunMigration {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly transaction: boolean;
  readonly durationMs: number;
  /** Every statement it issued, in order, as SQLite ran them (parameters expanded). */
  readonly statements: string[];
}

/** What applying migrations to a copy did: the ones that ran, and the one that failed, if any. */
export interface CopyRun {
  readonly migrations: CopyRunMigration[];
  readonly failure: { readonly migration: string; readonly cause: unknown } | null;
}

/**
 * Applies migrations to a throwaway copy of the database, never to the live file: the rehearsal
 * before a run, and the CLI's `up --dry-run`. Each migration runs as the runner would run it, in
 * its own transaction unless it says `transaction: false`; the first failure stops. Statements
 * are captured through better-sqlite3's `verbose` hook on the copy's connection. Side effects of
 * injected services are not rehearsed: a migration that calls them calls them here too.
 *
 * The copy goes into a fresh private folder (mkdtemp, 0700) inside `folder` (the backup folder)
 * or, with backups off, the system's temporary folder; the folder is removed afterwards.
 */
export async function runOnCopy(
  source: Database,
  database: string,
  pragmas: SqlitePragmas,
  migrations: readonly MigrationDefinition[],
  folder: string | null,
): Promise<CopyRun> {
  const parent = folder ?? tmpdir();
  makePrivateFolder(parent);
  const place = mkdtempSync(join(parent, `.${database === ':memory:' ? 'memory' : basename(database)}.copy-`));
  const copy = join(place, 'copy.db');
  const ran: CopyRunMigration[] = [];
  try {
    await step('copy the database', () => {
      // Created empty and private first, like a backup: the copy holds the application's data.
      writeFileSync(copy, '', { mode: 0o600, flag: 'wx' });
      source.prepare('VACUUM INTO ?').run(copy);
    });
    let capture: string[] | null = null;
    const connection = openSqlite(copy, pragmas, { verbose: (sql) => capture?.push(String(sql)) });
    try {
      const driver = new SqliteDriver(connection);
      for (const migration of migrations) {
        const statements: string[] = [];
        const started = performance.now();
        try {
          if (migration.transaction) driver.begin();
          capture = statements;
          await migration.instance().up(connection as never);
          capture = null;
          if (migration.transaction) driver.commit();
        } catch (cause) {
          capture = null;
          driver.rollback();
          return { migrations: ran, failure: { migration: migration.name, cause } };
        } finally {
          // The failed one is listed too, with the statements it issued before it failed.
          const { name, version, description, transaction } = migration;
          ran.push({ name, version, description, transaction, durationMs: Math.round(performance.now() - started), statements });
        }
      }
      return { migrations: ran, failure: null };
    } finally {
      connection.close();
    }
  } finally {
    rmSync(place, { recursive: true, force: true });
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { LOG_CONTEXT } from '../auto-migration.constants';
import type { SqlitePragmas } from '../auto-migration.options';
import { makePrivateFolder } from '../backup/private-files';
import { openSqlite } from '../database/open-sqlite';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { SqliteDriver } from '../driver/sqlite/sqlite-driver';
import { ForeignKeyViolationError } from '../errors/foreign-key-violation.error';
import { step } from './database-step';
import { ForeignKeyGuard } from './foreign-key-guard';
import { type CapturedStatement, StatementCapture } from './statement-capture';

/** Statement times to a hundredth of a millisecond: most take well under one. */
const round = (ms: number) => Math.round(ms * 100) / 100;

/** One migration as it ran on a copy. */
export interface CopyRunMigration {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly transaction: boolean;
  readonly durationMs: number;
  /**
   * Every statement it issued, in order, as SQLite ran them (parameters expanded, a bound number
   * that is a whole number shown as an integer; an `exec()` of several statements, such as a
   * `.sql` file, gives one entry per statement, a trigger body staying inside its CREATE TRIGGER),
   * each with the time from its start to the next statement's start (or until `up()` returned).
   */
  readonly statements: CopyRunStatement[];
  /**
   * Time from the end of `up()` to the end of its transaction: the foreign-key check and the
   * COMMIT. Null for a migration that ran without a transaction, or failed.
   */
  readonly commitMs: number | null;
}

/** A statement a migration issued on the copy. */
export interface CopyRunStatement {
  readonly sql: string;
  readonly durationMs: number;
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
    const capture = new StatementCapture();
    const connection = openSqlite(copy, pragmas, { verbose: capture.verbose });
    capture.watch(connection);
    try {
      const driver = new SqliteDriver(connection);
      const logger = new Logger(LOG_CONTEXT);
      for (const migration of migrations) {
        const issued: CapturedStatement[] = [];
        const started = performance.now();
        let returned: number | null = null;
        let committed: number | null = null;
        // As the runner does: foreign keys off around it (a table rebuild must not cascade), new violations refused.
        const guard = await ForeignKeyGuard.around(driver, migration, logger);
        try {
          if (migration.transaction) driver.begin();
          capture.into = issued;
          try {
            await migration.instance().up(connection);
          } finally {
            capture.into = null;
            returned = performance.now();
          }
          const added = await guard.added([migration.name]);
          if (added.size > 0 && migration.transaction) throw new ForeignKeyViolationError([migration.name], added);
          if (migration.transaction) {
            driver.commit();
            committed = performance.now();
          }
        } catch (cause) {
          driver.rollback();
          return { migrations: ran, failure: { migration: migration.name, cause } };
        } finally {
          await guard.restore();
          // The failed one is listed too, with the statements it issued before it failed.
          const ended = performance.now();
          // The last statement ends when up() returns: the check and COMMIT after it are timed apart.
          const statements = issued.map(({ sql, at }, i) => ({ sql, durationMs: round((issued[i + 1]?.at ?? returned ?? ended) - at) }));
          const commitMs = committed !== null && returned !== null ? round(committed - returned) : null;
          const { name, version, description, transaction } = migration;
          ran.push({ name, version, description, transaction, durationMs: Math.round(ended - started), statements, commitMs });
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

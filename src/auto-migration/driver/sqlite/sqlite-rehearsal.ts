import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../../auto-migration.options';
import { makePrivateFolder } from '../../backup/private-files';
import { step } from '../../runner/database-step';
import type { CopyRehearsal, RehearsalCopy } from '../capabilities';
import { openSqlite } from './open-sqlite';
import { SqliteDriver } from './sqlite-driver';
import { type InspectorReads, SqliteSchemaInspector } from './sqlite-schema-inspector';
import { StatementCapture } from './statement-capture';

/**
 * Throwaway copies of a SQLite database, through `VACUUM INTO` (what is only in the write-ahead
 * log included), for the rehearsal before a run and the dry run. Statements are captured through
 * better-sqlite3's `verbose` hook on the copy's connection. The copy's inspector reads through that
 * same connection (it sees what a migration left, committed or not), with the capture paused.
 *
 * The copy goes into a fresh private folder (mkdtemp, 0700) inside `folder` (the backup folder)
 * or, with backups off, the system's temporary folder; `dispose()` removes it.
 */
export class SqliteRehearsal implements CopyRehearsal {
  readonly kind = 'copy';

  constructor(
    private readonly source: () => Database,
    private readonly database: string,
    private readonly pragmas: SqlitePragmas,
  ) {}

  async openCopy(folder: string | null): Promise<RehearsalCopy> {
    const parent = folder ?? tmpdir();
    makePrivateFolder(parent);
    const place = mkdtempSync(join(parent, `.${this.database === ':memory:' ? 'memory' : basename(this.database)}.copy-`));
    const copy = join(place, 'copy.db');
    try {
      await step('copy the database', () => {
        // Created empty and private first, like a backup: the copy holds the application's data.
        writeFileSync(copy, '', { mode: 0o600, flag: 'wx' });
        this.source().prepare('VACUUM INTO ?').run(copy);
      });
      const capture = new StatementCapture();
      const connection = openSqlite(copy, this.pragmas, { verbose: capture.verbose });
      capture.watch(connection);
      const driver = new SqliteDriver(connection).runsScripts();
      return {
        session: driver,
        foreignKeys: driver,
        get capture() {
          return capture.into;
        },
        set capture(into) {
          capture.into = into;
        },
        inspector: new SqliteSchemaInspector(connection, uncaptured(capture)),
        // SQLite locks the whole file, never a table: there is nothing to watch.
        watchLocks: false,
        dispose: () => {
          // The copy holds the application's data: it goes even if closing fails.
          try {
            connection.close();
          } finally {
            rmSync(place, { recursive: true, force: true });
          }
          return Promise.resolve();
        },
      };
    } catch (error) {
      rmSync(place, { recursive: true, force: true });
      throw error;
    }
  }
}

/** Runs the inspector's reads with the capture off: they are the analysis's statements, not the migration's. */
function uncaptured(capture: StatementCapture): InspectorReads {
  return (read) => {
    const into = capture.into;
    capture.into = null;
    try {
      return read();
    } finally {
      capture.into = into;
    }
  };
}

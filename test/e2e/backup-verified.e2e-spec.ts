import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { BackupFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * The backup written before a run is checked with SQLite's own integrity check before the run
 * may start. The fault is injected at that seam: the check, run on the fresh copy in the backup
 * folder (and only there), answers that the copy is damaged. The run must refuse to start and
 * write nothing: no migration, no history row, no backup left behind.
 */

const INJECTED = 'row 3 missing from index sqlite_autoindex_t_1 (injected by the test)';

describe('the backup written before a run is verified', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');

  /** Every file next to the database (the backup folder aside), with its bytes. */
  const databaseFiles = () =>
    new Map(
      readdirSync(t.dir.path)
        .filter((name) => statSync(join(t.dir.path, name)).isFile())
        .map((name) => [name, readFileSync(join(t.dir.path, name))]),
    );

  /** Makes SQLite's check of any file in the backup folder answer "damaged"; returns the checks it answered. */
  function failChecksOfBackups(): { checks: string[]; restore(): void } {
    const proto = (BetterSqlite3 as unknown as { prototype: Database }).prototype;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the spied connection as `this`.
    const real = proto.pragma;
    const checks: string[] = [];
    const spy = jest.spyOn(proto, 'pragma').mockImplementation(function (this: Database, source: string, options?: { simple?: boolean }) {
      if (this.name.startsWith(backups()) && /^(quick_check|integrity_check)\b/.test(source)) {
        checks.push(source);
        return options?.simple ? INJECTED : [{ [source]: INJECTED }];
      }
      return real.call(this, source, options);
    });
    return { checks, restore: () => spy.mockRestore() };
  }

  it.each([
    ['quick', 'quick_check'],
    ['full', 'integrity_check'],
  ] as const)("with verify: '%s', a copy that fails %s stops the run before anything is applied or kept", async (verify, check) => {
    // A database with data, so that a backup is due before the next run.
    await (await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a')] })).app.close();
    const before = databaseFiles();

    const fault = failChecksOfBackups();
    let error: Error;
    try {
      ({ error } = await bootFailure(
        { database: t.db, backup: { dir: backups(), keep: 3, verify } },
        { migrations: [migration('001_a'), migration('002_b')] },
      ));
    } finally {
      fault.restore();
    }

    // The injected answer was the one that stopped the run.
    expect(fault.checks).toEqual([check]);
    expect(error).toBeInstanceOf(BackupFailedError);
    expect(error).toMatchObject({ code: 'BACKUP_FAILED' });
    expect(error.message).toContain(INJECTED);
    expect(error.message).toContain('No migration ran and the database is unchanged.');

    // Nothing written: the database files byte for byte, no history row, no table, no backup.
    expect(databaseFiles()).toEqual(before);
    expect(historyNames(t.db)).toEqual(['001_a']);
    expect(tableNames(t.db)).not.toContain(tableFor('002_b'));
    expect(existsSync(backups()) ? readdirSync(backups()) : []).toEqual([]);
  });
});

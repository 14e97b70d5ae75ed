import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { lastValueFrom, toArray } from 'rxjs';
import { AutoMigrationService, type MigrationEvent } from '../../src/auto-migration';
import { backupFileName } from '../../src/auto-migration/backup/backup-name';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames } from '../helpers/sqlite';
import { backupFilesIn, useTempDatabase } from '../helpers/temp-dir';

describe.each(['delete', 'wal'] as const)('backup retention under a crash loop (journal_mode %s)', (journalMode) => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const backupFiles = () => backupFilesIn(backups());
  const options = () => ({ database: t.db, backup: { dir: backups(), keep: 5 }, pragmas: { journal_mode: journalMode } });
  const hash = (file: string) =>
    createHash('sha256')
      .update(readFileSync(join(backups(), file)))
      .digest('hex');
  const insert = (sql: string) => {
    const conn = new BetterSqlite3(t.db);
    conn.exec(sql);
    conn.close();
  };

  /** Three releases, each with data written between them: three backups of three distinct states. */
  async function threeReleases(): Promise<ReturnType<typeof migration>[]> {
    const names: ReturnType<typeof migration>[] = [migration('001_a')];
    await (await bootApp(options(), { migrations: names })).app.close();
    for (const [index, name] of ['002_b', '003_c', '004_d'].entries()) {
      insert(`INSERT INTO ${tableFor('001_a')} VALUES (${index + 1})`);
      names.push(migration(name));
      await (await bootApp(options(), { migrations: names })).app.close();
    }
    return names;
  }

  it('writes no new backup while a failing release is restarted, keeps the distinct ones, and backs up a changed database again', async () => {
    const released = await threeReleases();
    const distinct = backupFiles();
    expect(distinct).toHaveLength(3);
    insert(`INSERT INTO ${tableFor('001_a')} VALUES (100)`);

    const failing = migration('005_fails', (db) => {
      db.exec('CREATE TABLE half (id INTEGER)');
      throw new Error('bug in 005');
    });
    const logs: string[][] = [];
    for (let start = 0; start < 7; start++) {
      const { error, logger } = await bootFailure(options(), { migrations: [...released, failing] });
      expect(error).toMatchObject({ code: 'MIGRATION_FAILED' });
      logs.push(logger.lines);
    }

    const after = backupFiles();
    // The three earlier states, and one copy of the state before the failing release.
    expect(after.slice(0, 3)).toEqual(distinct);
    expect(after).toHaveLength(4);
    expect(historyNames(join(backups(), after[3]))).toEqual(['001_a', '002_b', '003_c', '004_d']);
    expect(new Set(after.map(hash)).size).toBe(4);
    expect(logs[0].filter((l) => l.includes('Backup written'))).toHaveLength(1);
    for (const lines of logs.slice(1)) {
      expect(lines).toContainEqual(expect.stringContaining(`Backup reused: ${after[3]} already holds this state`));
      expect(lines.filter((l) => l.includes('Backup written'))).toEqual([]);
    }

    // The reuse is in the event too.
    const { app } = await bootApp(options(), { migrations: [...released, failing] }, { init: false });
    const events = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
    await expect(app.init()).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    await app.close();
    expect((await events).find((e: MigrationEvent) => e.type === 'backup-written')).toMatchObject({ file: after[3], reused: true });

    // Fixed release on a changed database: a new backup of the new state.
    insert(`INSERT INTO ${tableFor('001_a')} VALUES (200)`);
    const { app: fixed } = await bootApp(options(), { migrations: [...released, migration('005_fixed')] }, { init: false });
    const fixedEvents = lastValueFrom(fixed.get(AutoMigrationService).events$.pipe(toArray()));
    await fixed.init();
    await fixed.close();
    expect(backupFiles()).toHaveLength(5);
    expect(backupFiles().slice(0, 4)).toEqual(after);
    expect((await fixedEvents).find((e: MigrationEvent) => e.type === 'backup-written')).toMatchObject({ reused: false });
    expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c', '004_d', '005_fixed']);
  });

  it('removes identical copies an earlier release left before any backup of a distinct state', async () => {
    const released = await threeReleases();
    const [first, second, third] = backupFiles();
    // What a crash loop under an earlier release left: four more copies of the newest state, no digest files.
    const taken = Date.parse(statSync(join(backups(), third)).mtime.toISOString());
    const copies = [1, 2, 3, 4].map((n) => backupFileName(t.db, new Date(taken + n), '003_c'));
    for (const copy of copies) copyFileSync(join(backups(), third), join(backups(), copy));
    for (const f of readdirSync(backups()).filter((f) => f.endsWith('.sha256'))) rmSync(join(backups(), f));
    expect(backupFiles()).toEqual([first, second, third, ...copies].sort());

    insert(`INSERT INTO ${tableFor('001_a')} VALUES (300)`);
    await (await bootApp(options(), { migrations: [...released, migration('005_e')] })).app.close();

    const kept = backupFiles();
    expect(kept).toHaveLength(5);
    // Every distinct state stays: the two oldest, the newest copy of the third, and the new one.
    expect(kept).toEqual(expect.arrayContaining([first, second, copies[3]]));
    expect(new Set(kept.map(hash)).size).toBe(4);
    expect(historyNames(join(backups(), kept[4]))).toEqual(['001_a', '002_b', '003_c', '004_d']);
    expect(
      readdirSync(backups())
        .filter((f) => f.endsWith('.sha256'))
        .sort(),
    ).toEqual(kept.map((f) => `${f}.sha256`));
  });
});

describe('links in the backup folder', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const options = () => ({ database: t.db, backup: { dir: backups() } });

  it('a link named like a newer backup, to a copy of this very state, is neither reused nor named as the newest backup', async () => {
    const released = [migration('001_a')];
    await (await bootApp(options(), { migrations: released })).app.close();
    // The bytes a backup of this state has (VACUUM INTO writes a state the same way every time), so that a reuse check following links would take it.
    const elsewhere = join(t.dir.path, 'elsewhere.backup');
    const conn = new BetterSqlite3(t.db);
    conn.prepare('VACUUM INTO ?').run(elsewhere);
    conn.close();
    mkdirSync(backups());
    const link = backupFileName(t.db, new Date(Date.now() + 60_000), '001_a');
    symlinkSync(elsewhere, join(backups(), link));

    const failing = migration('002_fails', () => {
      throw new Error('bug in 002');
    });
    const { app } = await bootApp(options(), { migrations: [...released, failing] }, { init: false });
    const events = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
    await expect(app.init()).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    const written = readdirSync(backups()).filter((f) => f.endsWith('.backup') && f !== link);
    expect(written).toHaveLength(1);
    expect((await events).find((e: MigrationEvent) => e.type === 'backup-written')).toMatchObject({ file: written[0], reused: false });
    expect(status.lastBackup).toMatchObject({ file: written[0] });

    // The advice for a database that cannot be opened names the newest real backup, not the link.
    const bytes = Buffer.from(readFileSync(t.db));
    bytes.write('garbage garbage!', 0, 'latin1');
    writeFileSync(t.db, bytes);
    const { error } = await bootFailure(options(), { migrations: released });
    expect(error.message).toContain(`its newest backup, ${written[0]}`);
    expect(error.message).not.toContain(link);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupFailedError, DatabaseUnavailableError, InvalidMigrationError, MigrationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { smashMiddlePages } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

describe('advice that follows the cause', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const options = (extra: object = {}) => ({ database: t.db, backup: { dir: backups(), keep: 5 }, ...extra });
  const released = () => [migration('001_a'), migration('002_b')];

  /** A database of two releases (so one backup exists) holding a bulk table of about 1 MiB after the module's tables. */
  async function withBackupAndBulk(extra: object = {}): Promise<string> {
    await (await bootApp(options(extra), { migrations: [migration('001_a')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec(
      `CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 256) INSERT INTO bulk SELECT randomblob(4000) FROM n`,
    );
    conn.close();
    await (await bootApp(options(extra), { migrations: released() })).app.close();
    const [backup] = readdirSync(backups()).filter((f) => f.endsWith('.backup'));
    return backup;
  }

  /** The database's -wal file as it is (null when there is none): in WAL mode (the default) a write would go there first. */
  function walBytes(): Buffer | null {
    return existsSync(`${t.db}-wal`) ? readFileSync(`${t.db}-wal`) : null;
  }

  /** A real small file system for the database's folder; unmounted after `work`. */
  async function onSmallDisk(size: string, work: (folder: string) => Promise<void>): Promise<void> {
    const folder = join(t.dir.path, 'small');
    mkdirSync(folder);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', folder]);
    try {
      await work(folder);
    } finally {
      execFileSync('umount', [folder]);
    }
  }

  it('a damaged file (SQLITE_CORRUPT) says to restore its newest backup, naming it and the command, and is not written to', async () => {
    const backup = await withBackupAndBulk();
    const damaged = smashMiddlePages(t.db);
    expect(damaged[18]).toBe(2); // a WAL database: a write would go to its -wal file
    const wal = walBytes();

    const { error } = await bootFailure(options(), { migrations: [...released(), migration('003_c')] });

    expect(error).toBeInstanceOf(BackupFailedError);
    expect(error.message).toContain('SQLITE_CORRUPT');
    expect(error.message).toContain(`"${t.db}" is damaged (SQLITE_CORRUPT): do not let anything write to it.`);
    expect(error.message).toContain(`Restore its newest backup, ${backup} (in ${backups()}): \`nest-auto-migration restore ${backup} --force\``);
    expect(error.message).not.toMatch(/free disk space|set backup: false/i);
    expect(readFileSync(t.db).equals(damaged)).toBe(true);
    expect(walBytes()).toEqual(wal);
  });

  it('a file with a garbled header (not a database) says it is damaged and how to restore, and is not written to', async () => {
    await withBackupAndBulk();
    const bytes = Buffer.from(readFileSync(t.db));
    bytes.write('garbage garbage!', 0, 'latin1');
    writeFileSync(t.db, bytes);
    const wal = walBytes();

    const { error } = await bootFailure(options(), { migrations: [...released(), migration('003_c')] });

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(error.message).toContain(`"${t.db}" is damaged (SQLITE_NOTADB): do not let anything write to it.`);
    // Nothing can open it, restore included: the advice puts a backup in its place by hand.
    expect(error.message).toContain('put a backup in its place by hand');
    // The same header check refuses a wrong path to some other file: the advice says that first.
    expect(error.message).toContain('If that path is not your database at all (a wrong `database` option naming another file), correct the option');
    expect(error.message).not.toContain('nest-auto-migration restore <file> --force');
    expect(readFileSync(t.db).equals(bytes)).toBe(true);
    expect(walBytes()).toEqual(wal);
  });

  it("a full disk during a migration (SQLITE_FULL) says to free space, not to fix the migration; the migration's own errors say to fix it", async () => {
    await onSmallDisk('512k', async (folder) => {
      const database = join(folder, 'app.db');
      const fills = migration('002_fills', (db) => {
        db.exec(
          `CREATE TABLE big (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO big SELECT randomblob(4000) FROM n`,
        );
      });
      await (await bootApp({ database, backup: false }, { migrations: [migration('001_a')] })).app.close();

      const { error } = await bootFailure({ database, backup: false }, { migrations: [migration('001_a'), fills] });

      expect(error).toBeInstanceOf(MigrationFailedError);
      expect(error.message).toContain('database or disk is full');
      expect(error.message).toContain('Out of disk space (SQLITE_FULL)');
      expect(error.message).toMatch(
        new RegExp(
          `Out of disk space \\(SQLITE_FULL\\): the migration needs room for the new data it writes \\(.*\\) plus up to [\\d.]+ KiB for SQLite's journal \\(the database's size\\), but ${folder} has .* free\\. Free space there, then start again\\.$`,
        ),
      );
      expect(error.message).not.toContain('Fix the migration');
    });

    const throws = migration('002_throws', () => {
      throw new Error('bug in 002');
    });
    const badSql = migration('002_bad_sql', (db) => {
      db.exec('INSERT INTO no_such_table VALUES (1)');
    });
    for (const failing of [throws, badSql]) {
      const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [migration('001_a'), failing] });
      expect(error).toBeInstanceOf(MigrationFailedError);
      expect(error.message).toMatch(
        /Its changes were rolled back and no history row was written; later migrations did not run\. Fix the migration and restart the application\.$/,
      );
    }
  });

  it('a read-only file system names the path and the user, and says to give write permission or remount', async () => {
    await onSmallDisk('1m', async (folder) => {
      const database = join(folder, 'app.db');
      await (await bootApp({ database, backup: false }, { migrations: [migration('001_a')] })).app.close();
      const bytes = readFileSync(database);
      // Tests run as root, where file modes do not stop a write: a read-only mount does.
      execFileSync('mount', ['-o', 'remount,ro', folder]);

      const { error } = await bootFailure({ database, backup: false }, { migrations: [migration('001_a'), migration('002_b')] });

      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      const { username, uid } = userInfo();
      expect(error.message).toContain(`"${folder}" cannot be written by this process (EROFS; it runs as user ${username} (uid ${uid})).`);
      expect(error.message).toContain('Give that user write permission on the database file and its folder');
      expect(error.message).toContain('or remount the file system read-write');
      expect(readFileSync(database).equals(bytes)).toBe(true);
    });
  });

  it('long names are cut short in messages, with their length; the error keeps the whole name', async () => {
    const runaway = `001_${'x'.repeat(4996)}`;
    const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [migration(runaway)] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.message).toContain(`"${runaway.slice(0, 120)}…(5000 characters)"`);
    expect(error.message.length).toBeLessThan(1000);

    const long = `001_${'y'.repeat(196)}`;
    const failing = migration(long, () => {
      throw new Error('bug');
    });
    const { error: failed } = await bootFailure({ database: t.db, backup: false }, { migrations: [failing] });
    expect(failed).toMatchObject({ code: 'MIGRATION_FAILED', migration: long });
    expect(failed.message).toContain(`Migration "${long.slice(0, 120)}…(200 characters)" failed: bug.`);
    expect(existsSync(t.db)).toBe(true);
    expect(tableFor(long)).toBeDefined();
  });
});

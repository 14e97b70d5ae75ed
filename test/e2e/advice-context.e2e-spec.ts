import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DatabaseUnavailableError, DatabaseOperationFailedError, MigrationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { smashMiddlePages } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * Advice that names what it is about (the database, its size, its folder, the newest backup), and
 * a damaged file that nothing writes to, with backups off too.
 */
describe('advice with its context, and no write to a damaged file', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');

  /** A migrated database holding a bulk table of about 1 MiB after the module's tables (and, with backups on, one backup). */
  async function withBulk(backup: object | false): Promise<void> {
    await (await bootApp({ database: t.db, backup }, { migrations: [migration('001_a')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec(
      `CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 256) INSERT INTO bulk SELECT randomblob(4000) FROM n`,
    );
    conn.close();
    await (await bootApp({ database: t.db, backup }, { migrations: [migration('001_a'), migration('002_b')] })).app.close();
  }

  it('with backup: false, a damaged file is refused before anything is written (not the lease row), and the advice says to restore', async () => {
    await withBulk(false);
    const damaged = smashMiddlePages(t.db);
    const readsBulk = migration('003_reads_bulk', (db) => {
      db.exec('CREATE TABLE copy AS SELECT * FROM bulk');
    });

    const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [migration('001_a'), migration('002_b'), readsBulk] });

    expect(readFileSync(t.db).equals(damaged)).toBe(true);
    expect(error).toBeInstanceOf(DatabaseOperationFailedError);
    expect(error.message).toContain('Could not check the database before writing to it');
    expect(error.message).toContain(`"${t.db}" is damaged (SQLITE_CORRUPT): do not let anything write to it.`);
    expect(error.message).toContain('nest-auto-migration restore <file> --force');
  });

  it('a lease row left by a holder that died is not cleared on a damaged file: the lock is released, the file stays byte for byte', async () => {
    await withBulk(false);
    const conn = new BetterSqlite3(t.db);
    conn
      .prepare("UPDATE migration_lock SET in_progress = 1, started_at = ?, owner_host = 'gone', owner_pid = 1, owner_instance = 'dead0000' WHERE id = 1")
      .run(new Date().toISOString());
    conn.close();
    const damaged = smashMiddlePages(t.db);

    const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] });

    expect(readFileSync(t.db).equals(damaged)).toBe(true);
    expect(error.message).toContain('is damaged (SQLITE_CORRUPT)');
    const holder = new BetterSqlite3(`${t.db}.migration-lock`);
    expect(() => holder.exec('BEGIN IMMEDIATE; ROLLBACK')).not.toThrow();
    holder.close();
  });

  it('a file with a garbled header names its newest backup and the command (SQLITE_NOTADB), and is not written to', async () => {
    await withBulk({ dir: backups(), keep: 5 });
    const [backup] = readdirSync(backups()).filter((f) => f.endsWith('.backup'));
    const bytes = Buffer.from(readFileSync(t.db));
    bytes.write('garbage garbage!', 0, 'latin1');
    writeFileSync(t.db, bytes);

    const { error } = await bootFailure({ database: t.db, backup: { dir: backups(), keep: 5 } }, { migrations: [migration('001_a'), migration('002_b')] });

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toContain(`"${t.db}" is damaged (SQLITE_NOTADB): do not let anything write to it.`);
    // Named with its folder, wherever the advice puts them.
    expect(error.message).toContain(backup);
    expect(error.message).toContain(backups());
    expect(readFileSync(t.db).equals(bytes)).toBe(true);
  });

  it("a full disk during a migration (SQLITE_FULL) says what the migration needs (its new data, and at most the database's size for the journal) and how much is free, in which folder", async () => {
    const folder = join(t.dir.path, 'small');
    mkdirSync(folder);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', folder]);
    try {
      const database = join(folder, 'app.db');
      await (await bootApp({ database, backup: false }, { migrations: [migration('001_a')] })).app.close();
      const fills = migration('002_fills', (db) => {
        db.exec(
          `CREATE TABLE big (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO big SELECT randomblob(4000) FROM n`,
        );
      });

      const { error } = await bootFailure({ database, backup: false }, { migrations: [migration('001_a'), fills] });

      expect(error).toBeInstanceOf(MigrationFailedError);
      expect(error.message).toContain('Out of disk space (SQLITE_FULL): the migration needs room for the new data it writes');
      // Its new data has no bound known beforehand; the journal's is the database's size.
      expect(error.message).toMatch(
        new RegExp(
          `plus up to [\\d.]+ KiB for SQLite's journal \\(the database's size\\), but ${folder} has [\\d.]+ (KiB|bytes) free\\. Free space there, then start again\\.$`,
        ),
      );
    } finally {
      execFileSync('umount', [folder]);
    }
  });
});

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminusModule } from '@nestjs/terminus';
import BetterSqlite3 from 'better-sqlite3';
import request from 'supertest';
import { lastValueFrom, toArray } from 'rxjs';
import {
  AutoMigrationService,
  BackupError,
  type MigrationEvent,
  RehearsalFailedError,
  RestoreRefusedError,
} from '../../src/auto-migration';
import { HealthController } from '../../src/health.controller';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const BACKUP_NAME = /^app\.db\.\d{8}T\d{9}Z\.[A-Za-z0-9_.-]+\.backup$/;

describe('backups', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const backupFiles = () => (existsSync(backups()) ? readdirSync(backups()).filter((f) => BACKUP_NAME.test(f)).sort() : []);
  const options = (extra: object = {}) => ({ database: t.db, backup: { dir: backups(), keep: 3 }, ...extra });

  /** A database with data and a first migration applied: worth backing up. */
  async function seeded(): Promise<void> {
    const { app } = await bootApp(options(), { migrations: [migration('001_a')] });
    await app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec(`INSERT INTO ${tableFor('001_a')} VALUES (1), (2), (3)`);
    conn.close();
  }

  it('takes none for a new empty database, and says so', async () => {
    const { app, logger } = await bootApp(options(), { migrations: [migration('001_a')] });
    await app.close();
    expect(backupFiles()).toEqual([]);
    expect(logger.lines).toContain('LOG [AutoMigration] The database is new and empty: no backup needed before this run');
  });

  it('writes a verified, private backup of the state before the run, only when something is pending', async () => {
    await seeded();
    const before = inspect(t.db, (d) => d.prepare(`SELECT * FROM ${tableFor('001_a')}`).all());

    const { app } = await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')] }, { init: false });
    const events = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
    await app.init();
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();

    const [file] = backupFiles();
    expect(backupFiles()).toHaveLength(1);
    expect(file).toMatch(/^app\.db\.\d{8}T\d{9}Z\.001_a\.backup$/);
    const path = join(backups(), file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(backups()).mode & 0o777).toBe(0o700);
    // The pre-run state: 001_a's rows, no 002_b, history of one.
    expect(inspect(path, (d) => d.pragma('integrity_check', { simple: true }))).toBe('ok');
    expect(inspect(path, (d) => d.prepare(`SELECT * FROM ${tableFor('001_a')}`).all())).toEqual(before);
    expect(historyNames(path)).toEqual(['001_a']);
    expect(tableNames(path)).not.toContain(tableFor('002_b'));
    expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
    expect(status.lastBackup).toEqual({ file, createdAt: expect.stringMatching(/Z$/), sizeBytes: statSync(path).size });
    const types = (await events).map((e: MigrationEvent) => e.type);
    expect(types.slice(0, 3)).toEqual(['lock-acquired', 'backup-written', 'run-started']);
    expect(readdirSync(backups()).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Nothing pending: no new backup.
    await (await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')] })).app.close();
    expect(backupFiles()).toEqual([file]);
  });

  it("keeps the newest `keep` of this database's backups and never touches other files", async () => {
    await seeded();
    mkdirSync(backups(), { recursive: true });
    const foreign = ['notes.txt', 'other.db.20200101T000000000Z.001_x.backup', 'app.db.manual-copy', '.other.db.x.backup.1.tmp'];
    for (const f of foreign) writeFileSync(join(backups(), f), 'keep me');
    // Left by a process of ours that died mid-backup: removed by the next backup.
    const orphans = ['.app.db.20200101T000000000Z.none.backup.999.tmp', '.app.db.20200101T000000000Z.none.backup.999.tmp-journal'];
    for (const f of orphans) writeFileSync(join(backups(), f), 'partial');
    const names = ['001_a'];
    for (const n of ['002', '003', '004', '005']) {
      names.push(`${n}_m`);
      await (await bootApp(options(), { migrations: names.map((name) => migration(name)) })).app.close();
    }
    const kept = backupFiles();
    expect(kept).toHaveLength(3);
    // Newest three: taken before 003, 004 and 005, holding 002, 003 and 004 as newest.
    expect(kept.map((f) => f.split('.')[3])).toEqual(['002_m', '003_m', '004_m']);
    for (const f of foreign) expect(readFileSync(join(backups(), f), 'utf8')).toBe('keep me');
    for (const f of orphans) expect(existsSync(join(backups(), f))).toBe(false);
  });

  it('stops before any migration when the backup folder is unusable, naming the path, database unchanged', async () => {
    await seeded();
    const bytes = readFileSync(t.db);
    const blocker = join(t.dir.path, 'not-a-folder');
    writeFileSync(blocker, 'x');
    let ran = false;
    const later = migration('002_b', () => {
      ran = true;
    });
    const { error } = await bootFailure({ database: t.db, backup: { dir: join(blocker, 'backups') } }, { migrations: [migration('001_a'), later] });
    expect(error).toBeInstanceOf(BackupError);
    expect(error).toMatchObject({ code: 'BACKUP_FAILED' });
    expect(error.message).toContain(`Could not write a verified backup to "${join(blocker, 'backups')}/app.db.`);
    expect(error.message).toContain('No migration ran and the database is unchanged');
    expect(ran).toBe(false);
    expect(readFileSync(t.db).equals(bytes)).toBe(true);
  });

  it('refuses early, before copying, when the backup folder has no room for the database', async () => {
    await seeded();
    const conn = new BetterSqlite3(t.db);
    conn.exec(`CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024) INSERT INTO bulk SELECT randomblob(1024) FROM n`);
    conn.close();
    const bytes = readFileSync(t.db);
    // A real small file system (tmpfs, 256 KiB), so that statfs answers what a full disk would.
    const small = join(t.dir.path, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      const { error } = await bootFailure({ database: t.db, backup: { dir: join(small, 'backups') } }, { migrations: [migration('001_a'), migration('002_b')] });
      expect(error).toBeInstanceOf(BackupError);
      expect(error.message).toMatch(/not enough free space in the backup folder: the database needs about [\d.]+ MiB, [\d.]+ MiB available/);
      expect(readdirSync(join(small, 'backups'))).toEqual([]);
      expect(readFileSync(t.db).equals(bytes)).toBe(true);
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('warns once at start-up when backups are off', async () => {
    const { app, logger } = await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a')] });
    await app.close();
    expect(logger.lines.filter((l) => l.includes('without a backup'))).toEqual([
      'WARN [AutoMigration] backup: false: migrations will run without a backup of the database first',
    ]);
  });

  describe('restore', () => {
    async function withBackup(): Promise<string> {
      await seeded();
      await (await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')] })).app.close();
      return backupFiles()[0];
    }

    it('refuses without force, saying what would be lost, and refuses anything but a backup file name', async () => {
      const file = await withBackup();
      const { app } = await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')] });
      const service = app.get(AutoMigrationService);
      const bytes = readFileSync(t.db);
      await expect(service.restore(file)).rejects.toThrow(/Everything written since then is lost/);
      await expect(service.restore(file)).rejects.toBeInstanceOf(RestoreRefusedError);
      for (const bad of ['../app.db', join(backups(), file), `../backups/${file}`, '..', '', 'notes.txt', 'app.db']) {
        await expect(service.restore(bad, { force: true })).rejects.toMatchObject({ code: 'RESTORE_REFUSED', message: expect.stringContaining('is not a backup of this database') });
      }
      expect(readFileSync(t.db).equals(bytes)).toBe(true);
      await app.close();
    });

    it('refuses a corrupt backup', async () => {
      const file = await withBackup();
      const path = join(backups(), file);
      const corrupt = Buffer.from(readFileSync(path));
      corrupt.fill(0x55, 4096, 8192); // smash a page, keep the header
      chmodSync(path, 0o600);
      writeFileSync(path, corrupt);
      const { app } = await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')] });
      const bytes = readFileSync(t.db);
      await expect(app.get(AutoMigrationService).restore(file, { force: true })).rejects.toMatchObject({
        code: 'RESTORE_REFUSED',
        message: expect.stringMatching(/is not a sound SQLite database/),
      });
      expect(readFileSync(t.db).equals(bytes)).toBe(true);
      await app.close();
    });

    it('restores a good backup after backing up the current state, then asks for a restart (health down)', async () => {
      const file = await withBackup();
      const { app } = await bootApp(options(), { migrations: [migration('001_a'), migration('002_b')], imports: [TerminusModule], controllers: [HealthController] });
      const service = app.get(AutoMigrationService);
      await request(app.getHttpServer()).get('/health').expect(200);

      await service.restore(file, { force: true });

      // The live database holds the backup's state again: 002_b is gone.
      expect(historyNames(t.db)).toEqual(['001_a']);
      expect(tableNames(t.db)).not.toContain(tableFor('002_b'));
      // ...and the state just before the restore was backed up first.
      const newest = backupFiles()[backupFiles().length - 1];
      expect(newest).toMatch(/\.002_b\.backup$/);
      expect(historyNames(join(backups(), newest))).toEqual(['001_a', '002_b']);
      const status = await service.getStatus();
      expect(status.state).toBe('failed');
      expect(status.lastError).toMatchObject({ code: 'RESTART_REQUIRED', message: expect.stringContaining(file) });
      await request(app.getHttpServer()).get('/health').expect(503);
      await app.close();
    });
  });

  describe('rehearsal', () => {
    it('catches a failing migration on a copy, leaving the live database untouched', async () => {
      await seeded();
      const bytes = readFileSync(t.db);
      let calls = 0;
      const failing = migration('002_fails', (d) => {
        calls++;
        d.exec('CREATE TABLE rehearsed (id INTEGER)');
        throw new Error('would break production');
      });
      const { error } = await bootFailure(options({ rehearse: true }), { migrations: [migration('001_a'), failing] });
      expect(error).toBeInstanceOf(RehearsalFailedError);
      expect(error.message).toContain('"002_fails" failed in rehearsal');
      expect(calls).toBe(1);
      expect(readFileSync(t.db).equals(bytes)).toBe(true);
      expect(backupFiles()).toEqual([]);
      expect(readdirSync(t.dir.path).filter((f) => f.includes('rehearsal'))).toEqual([]);
      expect(existsSync(backups()) ? readdirSync(backups()).filter((f) => f.includes('rehearsal')) : []).toEqual([]);
    });

    it('applies for real after a successful rehearsal', async () => {
      await seeded();
      let calls = 0;
      const counted = migration('002_counted', () => {
        calls++;
      });
      const { app, logger } = await bootApp(options({ rehearse: true }), { migrations: [migration('001_a'), counted] });
      await app.close();
      expect(calls).toBe(2); // once on the copy, once for real
      expect(historyNames(t.db)).toEqual(['001_a', '002_counted']);
      expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^LOG \[AutoMigration\] Rehearsed 1 migration on a copy in \d+ ms$/)]));
    });
  });
});

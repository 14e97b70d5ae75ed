import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TerminusModule } from '@nestjs/terminus';
import BetterSqlite3 from 'better-sqlite3';
import request from 'supertest';
import { lastValueFrom, toArray } from 'rxjs';
import { AutoMigrationService, BackupFailedError, type MigrationEvent, RehearsalFailedError, RestoreRefusedError } from '../../src/auto-migration';
import { HealthController } from '../../src/health.controller';
import { bootApp, bootFailure, UsesDatabase } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { backupFilesIn, useTempDatabase } from '../helpers/temp-dir';

describe('backups', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const backupFiles = () => backupFilesIn(backups());
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
    const foreign = [
      'notes.txt',
      'other.db.20200101T000000000Z.001_x.backup',
      'app.db.manual-copy',
      '.other.db.x.backup.1.tmp',
      '.app.db.my-copy.tmp',
      '.app.notes.tmp',
    ];
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
    expect(error).toBeInstanceOf(BackupFailedError);
    expect(error).toMatchObject({ code: 'BACKUP_FAILED' });
    expect(error.message).toContain(`Could not write a verified backup to "${join(blocker, 'backups')}/app.db.`);
    expect(error.message).toContain('No migration ran and the database is unchanged');
    expect(ran).toBe(false);
    expect(readFileSync(t.db).equals(bytes)).toBe(true);
  });

  it('refuses early, before copying, when the backup folder has no room for the database', async () => {
    await seeded();
    const conn = new BetterSqlite3(t.db);
    conn.exec(
      `CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024) INSERT INTO bulk SELECT randomblob(1024) FROM n`,
    );
    conn.close();
    const bytes = readFileSync(t.db);
    // A real small file system (tmpfs, 256 KiB), so that statfs answers what a full disk would.
    const small = join(t.dir.path, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      const { error } = await bootFailure(
        { database: t.db, backup: { dir: join(small, 'backups') } },
        { migrations: [migration('001_a'), migration('002_b')] },
      );
      expect(error).toBeInstanceOf(BackupFailedError);
      expect(error.message).toMatch(
        /not enough free space in the backup folder\. .*Out of disk space \(ENOSPC\): the backup needs about [\d.]+ MiB \(the database's size plus 10 %\) but .*small\/backups has 256\.0 KiB free\. Free space there or set backup\.dir to a folder on a larger disk/,
      );
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
        await expect(service.restore(bad, { force: true })).rejects.toMatchObject({
          code: 'RESTORE_REFUSED',
          message: expect.stringContaining('is not a backup of this database'),
        });
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
      const { app } = await bootApp(options(), {
        migrations: [migration('001_a'), migration('002_b')],
        imports: [TerminusModule],
        controllers: [HealthController],
      });
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

  describe('restore, harder cases', () => {
    const migrations = () => [migration('001_a'), migration('002_b')];
    async function withBackup(extra: object = {}): Promise<string> {
      await seeded();
      await (await bootApp(options(extra), { migrations: migrations() })).app.close();
      return backupFiles()[0];
    }

    it('waits for a reader to finish, then restores; gives up cleanly if it never does', async () => {
      const file = await withBackup();
      // A rollback journal: there a reader's open transaction blocks the restore (in WAL mode it does not).
      const { app } = await bootApp(options({ lock: { timeoutMs: 400 }, pragmas: { journal_mode: 'delete' } }), { migrations: migrations() });
      const service = app.get(AutoMigrationService);
      const reader = new BetterSqlite3(t.db);
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM migrations').get();
      const bytes = readFileSync(t.db);
      await expect(service.restore(file, { force: true })).rejects.toMatchObject({
        code: 'RESTORE_FAILED',
        message: expect.stringContaining('The database was not changed'),
      });
      expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
      expect(readFileSync(t.db).subarray(100).equals(bytes.subarray(100))).toBe(true);

      setTimeout(() => reader.exec('COMMIT'), 150);
      await service.restore(file, { force: true });
      reader.close();
      expect(historyNames(t.db)).toEqual(['001_a']);
      await app.close();
    });

    it('restores the oldest backup even when retention would drop it (keep: 1)', async () => {
      const file = await withBackup({ backup: { dir: backups(), keep: 1 } });
      const { app } = await bootApp(options({ backup: { dir: backups(), keep: 1 } }), { migrations: migrations() });
      await app.get(AutoMigrationService).restore(file, { force: true });
      await app.close();
      expect(historyNames(t.db)).toEqual(['001_a']);
    });

    it('restores over a damaged database, keeping a raw copy of the damaged files', async () => {
      const file = await withBackup();
      const { app } = await bootApp(options(), { migrations: migrations() });
      const damaged = Buffer.from(readFileSync(t.db));
      damaged.fill(0x55, 4096, damaged.length);
      writeFileSync(t.db, damaged);
      await app.get(AutoMigrationService).restore(file, { force: true });
      await app.close();
      expect(historyNames(t.db)).toEqual(['001_a']);
      expect(inspect(t.db, (d) => d.pragma('integrity_check', { simple: true }))).toBe('ok');
      expect(readdirSync(backups()).filter((f) => /^app\.db\.\d{8}T\d{9}Z\.raw$/.test(f))).toHaveLength(1);
    });

    it('takes the migration lock itself', async () => {
      const file = await withBackup();
      const { app } = await bootApp(options({ lock: { timeoutMs: 200 } }), { migrations: migrations() });
      const holder = new BetterSqlite3(`${t.db}.migration-lock`);
      holder.exec('BEGIN IMMEDIATE');
      try {
        await expect(app.get(AutoMigrationService).restore(file, { force: true })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
        expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
      } finally {
        holder.close();
      }
      await app.close();
    });

    it('backs up and restores a WAL database; the app connection sees the restored content', async () => {
      const wal = { pragmas: { journal_mode: 'wal' as const } };
      const file = await withBackup(wal);
      expect(inspect(join(backups(), file), (d) => d.prepare(`SELECT COUNT(*) AS n FROM ${tableFor('001_a')}`).get())).toEqual({ n: 3 });
      const { app } = await bootApp(options(wal), { migrations: migrations(), providers: [UsesDatabase] });
      const appDb = app.get(UsesDatabase).db;
      expect(appDb.pragma('journal_mode', { simple: true })).toBe('wal');
      await app.get(AutoMigrationService).restore(file, { force: true });
      expect((appDb.prepare('SELECT name FROM migrations').all() as { name: string }[]).map((r) => r.name)).toEqual(['001_a']);
      await app.close();
    });
  });

  it('names backups of very long migration names within file-name limits', async () => {
    await seeded();
    const long = `002_${'x'.repeat(196)}`;
    const { app } = await bootApp(options(), { migrations: [migration('001_a'), migration(long)] });
    await app.close();
    await (await bootApp(options(), { migrations: [migration('001_a'), migration(long), migration('003_c')] })).app.close();
    const newest = backupFiles()[backupFiles().length - 1];
    expect(newest).toBe(newest.slice(0, 255));
    expect(newest).toMatch(/\.002_x{60}\.backup$/);
  });

  it("reports the full check in the backup-written event with verify: 'full'", async () => {
    await seeded();
    const { app } = await bootApp(
      options({ backup: { dir: backups(), verify: 'full' } }),
      { migrations: [migration('001_a'), migration('002_b')] },
      { init: false },
    );
    const events = lastValueFrom(app.get(AutoMigrationService).events$.pipe(toArray()));
    await app.init();
    await app.close();
    expect((await events).find((e) => e.type === 'backup-written')).toMatchObject({ check: 'integrity_check', verifyMs: expect.any(Number) });
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

    it('with backups off, rehearses in a private folder of the system temp folder and removes it', async () => {
      await seeded();
      const before = new Set(readdirSync(tmpdir()).filter((f) => f.includes('.rehearsal-')));
      let seenFolderMode = 0;
      const peek = migration('002_peek', (d) => {
        seenFolderMode = statSync(dirname(d.name)).mode & 0o777;
      });
      const { app } = await bootApp({ database: t.db, backup: false, rehearse: true }, { migrations: [migration('001_a'), peek] });
      await app.close();
      expect(seenFolderMode).toBe(0o700);
      expect(readdirSync(tmpdir()).filter((f) => f.includes('.rehearsal-') && !before.has(f))).toEqual([]);
      expect(historyNames(t.db)).toEqual(['001_a', '002_peek']);
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

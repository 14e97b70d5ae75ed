import { mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { AutoMigrationService, RestoreRefusedError } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

describe('restore takes only a regular file in the backup folder', () => {
  const t = useTempDatabase();
  const backups = () => join(t.dir.path, 'backups');
  const options = () => ({ database: t.db, backup: { dir: backups(), keep: 5 } });
  const migrations = () => [migration('001_a'), migration('002_b')];

  /** One real, sound backup (the state before 002_b); the database now has both migrations. */
  async function oneBackup(): Promise<string> {
    await (await bootApp(options(), { migrations: [migration('001_a')] })).app.close();
    new BetterSqlite3(t.db).exec(`INSERT INTO ${tableFor('001_a')} VALUES (1)`).close();
    await (await bootApp(options(), { migrations: migrations() })).app.close();
    const [file] = readdirSync(backups()).filter((f) => f.endsWith('.backup'));
    return file;
  }

  async function refused(file: string): Promise<RestoreRefusedError> {
    const { app } = await bootApp(options(), { migrations: migrations() });
    try {
      const before = readFileSync(t.db);
      const error = await app
        .get(AutoMigrationService)
        .restore(file, { force: true })
        .then(
          () => Promise.reject(new Error('expected the restore to be refused')),
          (e: unknown) => e,
        );
      expect(readFileSync(t.db).equals(before)).toBe(true);
      expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
      return error as RestoreRefusedError;
    } finally {
      await app.close();
    }
  }

  it('refuses a symbolic link named like a backup, even one pointing at a sound backup, naming it', async () => {
    const file = await oneBackup();
    // The real backup moves out of the folder; a link with its name points at it.
    const elsewhere = t.dir.file('elsewhere.backup');
    renameSync(join(backups(), file), elsewhere);
    symlinkSync(elsewhere, join(backups(), file));

    const error = await refused(file);
    expect(error).toBeInstanceOf(RestoreRefusedError);
    expect(error).toMatchObject({ code: 'RESTORE_REFUSED' });
    expect(error.message).toContain(`"${file}" in the backup folder is a symbolic link, not a backup file`);
  });

  it('refuses a folder named like a backup, naming it', async () => {
    const file = await oneBackup();
    const folderName = file.replace('.001_a.backup', '.001_b.backup');
    mkdirSync(join(backups(), folderName));
    const error = await refused(folderName);
    expect(error).toMatchObject({ code: 'RESTORE_REFUSED' });
    expect(error.message).toContain(`"${folderName}" in the backup folder is a folder, not a backup file`);
  });
});

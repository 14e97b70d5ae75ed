import { type AutoMigrationModuleOptions, AutoMigrationService, RehearsalFailedError, RULES, UnsafeMigrationError } from '../../src/auto-migration';
import { bootApp, bootFailure, type CapturingLogger } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { applyBase, BASE, FORMS, liveBytes, migrationsFolder, pending, USERS } from '../helpers/safety';
import { CLEARED_LEASE, historyNames, inspect } from '../helpers/sqlite';
import { backupFilesIn, useTempDatabase } from '../helpers/temp-dir';

/*
 * The `safety` option at start-up on SQLite: with something pending, the runner analyses it on a
 * rehearsal copy under the lock, before the backup and before the lease row is written; 'warn'
 * logs each finding and applies, 'refuse' applies nothing while an error-level finding is not
 * accepted, 'off' (the default) does no analysis. The base migration (test/helpers/safety.ts)
 * is applied first; the pending one changes its tables.
 */

jest.setTimeout(60_000);

const DROP_EMAIL = 'ALTER TABLE users DROP COLUMN email;';

function columnsOfUsers(database: string): string[] {
  return inspect(database, (db) => (db.prepare('SELECT name FROM pragma_table_info(?)').all('users') as { name: string }[]).map((c) => c.name));
}

function safetyLines(logger: CapturingLogger): string[] {
  return logger.lines.filter((line) => /\bSafety\b/.test(line));
}

/** The summary line checkSafety() logs, its time replaced. */
const SUMMARY = (findings: string, blocking: number) =>
  new RegExp(`^LOG \\[[^\\]]*\\] Safety analysis of 1 migration on a copy in \\d+ ms: ${findings}, ${blocking} not accepted at error level$`);

describe('the safety option at start-up (SQLite)', () => {
  const t = useTempDatabase();
  let folder: string;
  let backups: string;
  beforeEach(() => {
    folder = migrationsFolder(t.dir.path);
    backups = t.dir.file('backups');
  });
  const options = (safety?: AutoMigrationModuleOptions['safety']): Partial<AutoMigrationModuleOptions> => ({
    database: t.db,
    migrationsDir: folder,
    backup: { dir: backups },
    ...(safety !== undefined && { safety }),
  });

  /** Applies the base without a backup: a test counts only the backups its own start-up makes. */
  async function base(): Promise<void> {
    await applyBase({ ...options(), backup: false });
  }

  describe("'refuse'", () => {
    it.each(FORMS)(
      'an unaccepted drop-column (a %s) fails start-up with UNSAFE_MIGRATION; nothing applied, no backup, the file byte-identical',
      async (form) => {
        await base();
        const before = liveBytes(t.db);
        const { error, logger } = await bootFailure(options('refuse'), { migrations: [BASE, ...pending(form, folder, '002_drop_email', DROP_EMAIL)] });

        expect(error).toBeInstanceOf(UnsafeMigrationError);
        const unsafe = error as UnsafeMigrationError;
        expect(unsafe.code).toBe('UNSAFE_MIGRATION');
        expect(unsafe.migration).toBe('002_drop_email');
        expect(unsafe.findings).toEqual([
          expect.objectContaining({ rule: 'drop-column', level: 'error', migration: '002_drop_email', object: 'users.email', accepted: false, rows: USERS }),
        ]);
        expect(unsafe.message).toContain(`002_drop_email: drop-column on users.email: drops column users.email (${USERS} values on the rehearsal)`);
        expect(unsafe.message).toContain(`Safe pattern: ${RULES['drop-column'].safePattern}`);
        expect(unsafe.message).toContain(`allow: ['drop-column'] in @Migration(), or "-- allow: drop-column" in a SQL file's header`);

        // The analysis runs before the backup and before the lease row is written: nothing at all was.
        const after = liveBytes(t.db);
        expect(after.db.equals(before.db)).toBe(true);
        expect(after.wal.equals(before.wal)).toBe(true);
        expect(historyNames(t.db)).toEqual(['001_base']);
        expect(columnsOfUsers(t.db)).toContain('email');
        expect(inspect(t.db, (db) => db.prepare('SELECT * FROM migration_lock WHERE id = 1').get())).toEqual(CLEARED_LEASE);
        expect(backupFilesIn(backups)).toEqual([]);

        expect(safetyLines(logger)).toEqual([
          expect.stringMatching(
            /^WARN \[[^\]]*\] Safety: 002_drop_email: drop-column \(error\) on users\.email: drops column users\.email \(6 values on the rehearsal\)\. Safe pattern: /,
          ),
          expect.stringMatching(SUMMARY('1 finding', 1)),
        ]);
      },
    );

    it("the object form { mode: 'refuse', longLockMs } refuses the same way", async () => {
      await base();
      const { error } = await bootFailure(options({ mode: 'refuse', longLockMs: 50 }), {
        migrations: [BASE, ...pending('class', folder, '002_drop_email', DROP_EMAIL)],
      });
      expect(error).toBeInstanceOf(UnsafeMigrationError);
      expect(historyNames(t.db)).toEqual(['001_base']);
    });

    it.each(FORMS)('the same drop, accepted (a %s), is applied after a backup, its finding logged as accepted', async (form) => {
      await base();
      const { app, logger } = await bootApp(options('refuse'), { migrations: [BASE, ...pending(form, folder, '002_drop_email', DROP_EMAIL, ['drop-column'])] });
      await app.close();
      expect(historyNames(t.db)).toEqual(['001_base', '002_drop_email']);
      expect(columnsOfUsers(t.db)).not.toContain('email');
      expect(backupFilesIn(backups)).toHaveLength(1);
      expect(safetyLines(logger)).toEqual([
        expect.stringMatching(/^LOG \[[^\]]*\] Safety: 002_drop_email: drop-column \(error, accepted\) on users\.email: drops column users\.email/),
        expect.stringMatching(SUMMARY('1 finding', 0)),
      ]);
    });

    it('a warning-level finding alone (rows-deleted) does not stop the run', async () => {
      await base();
      const { app, logger } = await bootApp(options('refuse'), {
        migrations: [BASE, ...pending('sql', folder, '002_delete_nameless', 'DELETE FROM users WHERE name IS NULL;')],
      });
      await app.close();
      expect(historyNames(t.db)).toEqual(['001_base', '002_delete_nameless']);
      expect(safetyLines(logger)).toEqual([
        expect.stringMatching(
          /^LOG \[[^\]]*\] Safety: 002_delete_nameless: rows-deleted \(warning\) on users: deletes 2 of the 6 rows of users on the rehearsal$/,
        ),
        expect.stringMatching(SUMMARY('1 finding', 0)),
      ]);
    });

    it('with failOnError: false the app starts, nothing is applied, and the status is failed with UNSAFE_MIGRATION', async () => {
      await base();
      const before = liveBytes(t.db);
      const { app } = await bootApp(
        { ...options('refuse'), failOnError: false },
        { migrations: [BASE, ...pending('class', folder, '002_drop_email', DROP_EMAIL)] },
      );
      try {
        const status = await app.get(AutoMigrationService).getStatus();
        expect(status.state).toBe('failed');
        expect(status.lastError).toMatchObject({ code: 'UNSAFE_MIGRATION' });
      } finally {
        await app.close();
      }
      expect(liveBytes(t.db).db.equals(before.db)).toBe(true);
      expect(historyNames(t.db)).toEqual(['001_base']);
    });
  });

  it("'warn' logs every finding, the unaccepted error with its safe pattern, then applies", async () => {
    await base();
    let runs = 0;
    const change = migration(
      '002_drop_email_and_index',
      (db) => {
        runs++;
        db.exec('DROP INDEX users_name; ALTER TABLE users DROP COLUMN email;');
      },
      { version: '1.1.0' },
    );
    const { app, logger } = await bootApp(options('warn'), { migrations: [BASE, change] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_base', '002_drop_email_and_index']);
    expect(columnsOfUsers(t.db)).not.toContain('email');
    // Once on the rehearsal copy, once for real.
    expect(runs).toBe(2);
    expect(safetyLines(logger)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^WARN \\[[^\\]]*\\] Safety: 002_drop_email_and_index: drop-column \\(error\\) on users\\.email: .*\\. Safe pattern: ${escapeRegExp(RULES['drop-column'].safePattern)}$`,
        ),
      ),
      expect.stringMatching(/^LOG \[[^\]]*\] Safety: 002_drop_email_and_index: drop-index \(warning\) on users_name: drops index users_name on users\(name\)$/),
      expect.stringMatching(SUMMARY('2 findings', 1)),
    ]);
  });

  it.each([undefined, 'off' as const])("safety: %s (the default is 'off') does no analysis: no Safety line, the migration runs once", async (safety) => {
    await base();
    let runs = 0;
    const change = migration(
      '002_drop_email',
      (db) => {
        runs++;
        db.exec(DROP_EMAIL);
      },
      { version: '1.1.0' },
    );
    const { app, logger } = await bootApp(options(safety), { migrations: [BASE, change] });
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_base', '002_drop_email']);
    expect(runs).toBe(1);
    expect(safetyLines(logger)).toEqual([]);
  });

  it.each(['warn', 'refuse'] as const)(
    "'%s': a migration that fails on the rehearsal stops start-up with REHEARSAL_FAILED, its finding logged; nothing applied, no backup",
    async (safety) => {
      await base();
      const before = liveBytes(t.db);
      const { error, logger } = await bootFailure(options(safety), {
        migrations: [BASE, ...pending('sql', folder, '002_unique_name', 'CREATE UNIQUE INDEX users_name_unique ON users (name);')],
      });
      expect(error).toBeInstanceOf(RehearsalFailedError);
      expect((error as RehearsalFailedError).code).toBe('REHEARSAL_FAILED');
      expect(error.message).toContain('"002_unique_name" failed in rehearsal');
      expect(error.message).toContain('UNIQUE constraint failed: users.name');

      const after = liveBytes(t.db);
      expect(after.db.equals(before.db)).toBe(true);
      expect(after.wal.equals(before.wal)).toBe(true);
      expect(historyNames(t.db)).toEqual(['001_base']);
      expect(backupFilesIn(backups)).toEqual([]);
      expect(safetyLines(logger)).toEqual([
        expect.stringMatching(
          /^WARN \[[^\]]*\] Safety: 002_unique_name: add-unique \(error\) on users\(name\): fails on the rehearsal: 2 duplicate rows in users\(name\)\. /,
        ),
        expect.stringMatching(SUMMARY('1 finding', 1)),
      ]);
    },
  );
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { readFileSync } from 'node:fs';
import { type CauseClassifier, causeAdvice, classifyCause, registerCauseClassifier } from '../../src/auto-migration/errors/cause-advice';
import { DatabaseUnavailableError } from '../../src/auto-migration/errors/database-unavailable.error';
import { MigrationFailedError } from '../../src/auto-migration/errors/migration-failed.error';
import { thrown } from '../helpers/thrown';
import { tempDir } from '../helpers/temp-dir';

/*
 * Classification and advice behind the driver seam: without any driver loaded (this file never
 * imports the SQLite driver) only Node's file codes are known and the advice names no database's
 * tools; a driver's classifier, registered as a driver does when it loads, brings its own codes,
 * texts and advice (here a PostgreSQL-like one, by SQLSTATE).
 */

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

/** Names only a specific database's tools would carry. */
const DIALECT = /SQLite|sqlite3|busy_timeout|PRAGMA|\.recover|-wal|-journal/;

describe('cause advice without any driver loaded', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it("classifies Node's file codes, down cause chains, and nothing a database's driver would know", () => {
    const missing = thrown(() => readFileSync(dir.file('missing.db')));
    expect(classifyCause(missing)).toEqual({ kind: 'cannot-open', code: 'ENOENT' });
    expect(classifyCause(new Error('wrapped', { cause: coded('ENOSPC') }))).toEqual({ kind: 'full', code: 'ENOSPC' });
    expect(classifyCause(coded('EDQUOT')).kind).toBe('full');
    expect(classifyCause(coded('EROFS')).kind).toBe('read-only');
    expect(classifyCause(coded('EACCES')).kind).toBe('read-only');
    expect(classifyCause(coded('EIO')).kind).toBe('io');

    expect(classifyCause(coded('SQLITE_FULL', 'database or disk is full'))).toEqual({ kind: 'other', code: null });
    expect(classifyCause(new Error('database disk image is malformed'))).toEqual({ kind: 'other', code: null });
    expect(causeAdvice(coded('SQLITE_CORRUPT'))).toBeNull();
  });

  it('gives advice that names no database-specific tool', () => {
    const full = causeAdvice(coded('ENOSPC'), { database: dir.file('app.db') })!;
    expect(full).toBe('Out of disk space (ENOSPC) on the disk holding the database: free space there, then start again.');

    const backup = causeAdvice(coded('ENOSPC'), {
      space: { folder: dir.path, needsBytes: 2 * 1024 * 1024, what: 'the backup', basis: "the database's size plus 10 %", backupDir: true },
    })!;
    expect(backup).toMatch(
      new RegExp(
        `^Out of disk space \\(ENOSPC\\): the backup needs about 2\\.0 MiB \\(the database's size plus 10 %\\) but ${dir.path} has [\\d.]+ \\w+ free\\.`,
      ),
    );
    expect(backup).toContain('Free space there or set backup.dir to a folder on a larger disk, then start again.');

    const readOnly = causeAdvice(Object.assign(coded('EROFS'), { path: dir.path }))!;
    expect(readOnly).toContain(`"${dir.path}" cannot be written by this process (EROFS; it runs as `);
    expect(readOnly).toContain('Give that user write permission on the database file and its folder, or remount the file system read-write, then restart.');

    const io = causeAdvice(coded('EIO'))!;
    for (const advice of [full, backup, readOnly, io, causeAdvice(thrown(() => readFileSync(dir.file('missing.db'))))!]) {
      expect(advice).not.toMatch(DIALECT);
    }
  });

  it('the errors that wrap a cause speak of a database, not of SQLite', () => {
    const error = new DatabaseUnavailableError(dir.file('app.db'), coded('ENOTDIR'));
    expect(error.message).toMatch(
      new RegExp(`^Cannot open the database "${dir.file('app.db')}": x\\. "${dir.file('app.db')}" could not be opened \\(ENOTDIR\\)`),
    );
    expect(error.message).not.toMatch(DIALECT);
  });
});

describe("cause advice with a driver's classifier registered (PostgreSQL-like, by SQLSTATE)", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  const SQLSTATES: Record<string, { kind: 'full' | 'damaged' | 'busy' | 'cannot-open'; code: string }> = {
    '53100': { kind: 'full', code: 'disk_full' },
    XX001: { kind: 'damaged', code: 'data_corrupted' },
    '55P03': { kind: 'busy', code: 'lock_not_available' },
    '57P01': { kind: 'cannot-open', code: 'admin_shutdown' },
  };
  let classified = 0;
  const postgres: CauseClassifier = {
    classify(cause) {
      classified++;
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' && code in SQLSTATES ? SQLSTATES[code] : null;
    },
    classifyMessage: (message) => (/could not extend file/.test(message) ? SQLSTATES['53100'] : null),
    advice: (kind, code) => (kind === 'busy' ? `Another session holds the lock (${code}): raise lock_timeout or end that session.` : null),
  };

  beforeAll(() => {
    registerCauseClassifier(postgres);
    registerCauseClassifier(postgres);
  });

  it("classifies by the driver's codes, down cause chains, and by its texts when the code was lost", () => {
    expect(classifyCause(coded('53100'))).toEqual({ kind: 'full', code: 'disk_full' });
    expect(classifyCause(new Error('committing failed', { cause: coded('XX001') }))).toEqual({ kind: 'damaged', code: 'data_corrupted' });
    expect(classifyCause(new Error('could not extend file "base/16384/2619": No space left on device'))).toEqual({ kind: 'full', code: 'disk_full' });
    expect(classifyCause(coded('ENOSPC'))).toEqual({ kind: 'full', code: 'ENOSPC' });
    expect(classifyCause(coded('42P01'))).toEqual({ kind: 'other', code: null });
  });

  it('is asked once per object of a cause chain however often it was registered', () => {
    classified = 0;
    classifyCause(new Error('outer', { cause: new Error('inner') }));
    expect(classified).toBe(2);
  });

  it("takes the driver's own advice when it gives one, the shared advice per kind otherwise", () => {
    expect(causeAdvice(coded('55P03'), { database: 'postgres://db/app' })).toBe(
      'Another session holds the lock (lock_not_available): raise lock_timeout or end that session.',
    );

    const full = causeAdvice(coded('53100'), { database: 'postgres://db/app' })!;
    expect(full).toBe('Out of disk space (disk_full) on the disk holding the database: free space there, then start again.');

    const backups = { folder: dir.path, newest: 'app.20260101T000000000Z.001_a.backup' };
    expect(causeAdvice(coded('XX001'), { database: 'app', backups })).toBe(
      `"app" is damaged (data_corrupted): do not let anything write to it. Restore its newest backup, ${backups.newest} (in ${dir.path}): ` +
        `\`nest-auto-migration restore ${backups.newest} --force\` (the damaged file is kept as a raw copy beside the backups).`,
    );
    const noBackup = causeAdvice(coded('XX001'), { database: 'app', backups: { folder: dir.path, newest: null } })!;
    expect(noBackup).toContain(`It has no backup in ${dir.path}: recover what you can`);

    const cannotOpen = causeAdvice(coded('57P01'))!;
    expect(cannotOpen).toMatch(/^The database could not be opened \(admin_shutdown\)/);
    for (const advice of [full, noBackup, cannotOpen]) expect(advice).not.toMatch(DIALECT);
  });

  it("never gives the driver's advice for a cause it did not recognise", () => {
    expect(causeAdvice(coded('ENOENT'))).toMatch(/^The database could not be opened \(ENOENT\)/);
  });

  it('reaches the errors that wrap a database cause', () => {
    const error = new MigrationFailedError('002_add_index', new Error('could not extend file: No space left on device'), 'migration');
    expect(error.message).toContain('Out of disk space (disk_full) on the disk holding the database: free space there, then start again.');
    expect(error.message).not.toContain('Fix the migration');
  });
});

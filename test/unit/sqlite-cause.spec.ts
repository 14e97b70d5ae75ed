import { statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteCauses } from '../../src/auto-migration/driver/sqlite/sqlite-cause';
import { causeAdvice, classifyCause, registerCauseClassifier } from '../../src/auto-migration/errors/cause-advice';
import { formatSize } from '../../src/auto-migration/errors/disk-space';
import { thrown } from '../helpers/thrown';
import { tempDir } from '../helpers/temp-dir';

// As the SQLite driver does when it loads.
registerCauseClassifier(sqliteCauses);

describe('classifyCause', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('classifies real better-sqlite3 errors by their code, extended codes included', () => {
    const file = dir.file('a.db');
    new BetterSqlite3(file).exec('CREATE TABLE t (v)').close();
    const readonly = new BetterSqlite3(file, { readonly: true });
    expect(classifyCause(thrown(() => readonly.exec('INSERT INTO t VALUES (1)')))).toEqual({ kind: 'read-only', code: 'SQLITE_READONLY' });
    readonly.close();

    const writer = new BetterSqlite3(file);
    const other = new BetterSqlite3(file, { timeout: 0 });
    writer.exec('BEGIN EXCLUSIVE');
    expect(classifyCause(thrown(() => other.prepare('SELECT * FROM t').all()))).toEqual({ kind: 'busy', code: 'SQLITE_BUSY' });
    writer.exec('ROLLBACK');
    expect(classifyCause(thrown(() => other.exec('INSERT INTO missing VALUES (1)')))).toEqual({ kind: 'other', code: null });
    writer.close();
    other.close();
  });

  it("reads extended codes by their primary code, looks down cause chains, and falls back on SQLite's own texts", () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    expect(classifyCause(coded('SQLITE_IOERR_WRITE')).kind).toBe('io');
    expect(classifyCause(coded('SQLITE_CORRUPT_INDEX')).kind).toBe('damaged');
    expect(classifyCause(coded('SQLITE_READONLY_DBMOVED')).kind).toBe('read-only');
    expect(classifyCause(coded('SQLITE_BUSY_SNAPSHOT')).kind).toBe('busy');
    expect(classifyCause(coded('SQLITE_CANTOPEN')).kind).toBe('cannot-open');
    expect(classifyCause(coded('ENOSPC')).kind).toBe('full');
    expect(classifyCause(new Error('wrapped', { cause: coded('SQLITE_NOTADB') }))).toEqual({ kind: 'damaged', code: 'SQLITE_NOTADB' });
    expect(classifyCause(new Error('committing 002 failed: database or disk is full'))).toEqual({ kind: 'full', code: 'SQLITE_FULL' });
    expect(classifyCause(new Error('bug in my migration'))).toEqual({ kind: 'other', code: null });
    expect(causeAdvice(new Error('bug in my migration'))).toBeNull();
  });

  it("for a full disk, bounds only what is known: a migration's journal by the database's size (its new data is unbounded), a backup by the size plus 10 %", () => {
    const file = dir.file('full.db');
    new BetterSqlite3(file).exec('CREATE TABLE t (v); INSERT INTO t VALUES (randomblob(20000))').close();
    const size = formatSize(statSync(file).size);
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

    const migrating = causeAdvice(full, { database: file });
    expect(migrating).toMatch(
      new RegExp(
        `^Out of disk space \\(SQLITE_FULL\\): the migration needs room for the new data it writes \\(.*\\) plus up to ${size} for SQLite's journal \\(the database's size\\), but ${dir.path} has [\\d.]+ \\w+ free\\. Free space there, then start again\\.$`,
      ),
    );
    expect(migrating).not.toContain('needs about');

    const backingUp = causeAdvice(full, {
      database: file,
      space: { folder: dir.path, needsBytes: 1.1 * 1024 * 1024, what: 'the backup', basis: "the database's size plus 10 %", backupDir: true },
    });
    expect(backingUp).toContain(`the backup needs about 1.1 MiB (the database's size plus 10 %) but ${dir.path} has `);
    expect(backingUp).toContain('Free space there or set backup.dir to a folder on a larger disk, then start again.');
  });

  it('says small sizes in KiB', () => {
    expect(formatSize(100 * 1024)).toBe('100.0 KiB');
    expect(formatSize(12.3 * 1024 * 1024)).toBe('12.3 MiB');
    expect(formatSize(500)).toBe('500 bytes');
  });
});

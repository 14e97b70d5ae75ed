import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DatabaseOperationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * VACUUM INTO copies what the tables hold and never reads the free pages, so a backup of a file
 * whose freelist is damaged is sound and passes its own check. The file itself is still damaged:
 * the run must check it, not the copy, before writing to it.
 */
describe('a damaged freelist, with backups on', () => {
  const t = useTempDatabase();
  const backup = () => ({ dir: join(t.dir.path, 'backups') });

  /** A migrated database with over a hundred free pages (auto_vacuum off), its first freelist trunk page overwritten; returns the damaged bytes. */
  async function damageFreelist(): Promise<Buffer> {
    await (await bootApp({ database: t.db, backup: backup() }, { migrations: [migration('001_a')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    expect(conn.pragma('auto_vacuum', { simple: true })).toBe(0);
    conn.exec(
      'CREATE TABLE bulk (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO bulk SELECT randomblob(3000) FROM n; DELETE FROM bulk WHERE rowid > 20',
    );
    expect(conn.pragma('freelist_count', { simple: true })).toBeGreaterThan(100);
    const pageSize = conn.pragma('page_size', { simple: true }) as number;
    conn.close();
    const bytes = Buffer.from(readFileSync(t.db));
    const trunk = bytes.readUInt32BE(32);
    // A trunk page holds the next trunk's number, then how many leaf page numbers follow: claim far more than fit.
    bytes.writeUInt32BE(0xffffff, (trunk - 1) * pageSize + 4);
    writeFileSync(t.db, bytes);
    return bytes;
  }

  it('refuses to start with the damaged-file advice although the backup is sound, and the file stays byte for byte', async () => {
    const damaged = await damageFreelist();
    // What the backup sees: a copy that passes its check. What the file is: damaged.
    const copy = join(t.dir.path, 'copy.db');
    inspect(t.db, (db) => {
      db.prepare('VACUUM INTO ?').run(copy);
      expect(db.pragma('quick_check', { simple: true })).toMatch(/freelist leaf count too big/);
    });
    expect(inspect(copy, (db) => db.pragma('quick_check', { simple: true }))).toBe('ok');

    const { error } = await bootFailure({ database: t.db, backup: backup() }, { migrations: [migration('001_a'), migration('002_b')] });

    expect(readFileSync(t.db).equals(damaged)).toBe(true);
    expect(error).toBeInstanceOf(DatabaseOperationFailedError);
    expect(error.message).toContain('Could not check the database before writing to it');
    expect(error.message).toContain('freelist leaf count too big');
    expect(error.message).toContain(`"${t.db}" is damaged (SQLITE_CORRUPT): do not let anything write to it.`);
  });
});

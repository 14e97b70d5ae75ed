import BetterSqlite3 from 'better-sqlite3';
import { SqliteDriver } from '../../src/auto-migration/driver/sqlite/sqlite-driver';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * now() runs lock-free reads on a connection the application also uses (the probe reads on the
 * application's connection): with the busy timeout at 0 for exactly the read, and the configured
 * timeout back before anything else can run on that connection.
 */
describe('SqliteDriver.now', () => {
  const t = useTempDatabase();

  it('answers null at once while another connection holds a write lock, and leaves the configured busy timeout', () => {
    const setup = new BetterSqlite3(t.db);
    setup.exec('CREATE TABLE t (x)');
    setup.close();
    const db = new BetterSqlite3(t.db);
    const writer = new BetterSqlite3(t.db);
    try {
      db.pragma('busy_timeout = 5000');
      const driver = new SqliteDriver(db);
      writer.exec('BEGIN EXCLUSIVE');
      const started = Date.now();
      const timeouts: number[] = [];
      const answer = driver.now(() => {
        timeouts.push(db.pragma('busy_timeout', { simple: true }) as number);
        return db.prepare('SELECT count(*) AS n FROM t').get();
      });
      expect(answer).toBeNull();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(timeouts).toEqual([0]);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      writer.exec('ROLLBACK');
      expect(driver.now(() => db.prepare('SELECT count(*) AS n FROM t').get())).toEqual({ n: 0 });
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      writer.close();
      db.close();
    }
  });
});

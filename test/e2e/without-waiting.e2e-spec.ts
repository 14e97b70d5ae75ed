import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteDriver } from '../../src/auto-migration/driver/sqlite/sqlite-driver';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * withoutWaiting() sets the connection's busy timeout to 0 for its reads. Calls overlap (a status
 * read while a waiting run re-checks the history); whatever order they end in, the connection's
 * configured timeout comes back, never the 0 of another call.
 */
describe('SqliteDriver.withoutWaiting', () => {
  const t = useTempDatabase();

  it('two overlapping calls, the inner one ending last, leave the configured busy timeout', async () => {
    const db = new BetterSqlite3(t.db);
    try {
      db.pragma('busy_timeout = 5000');
      const driver = new SqliteDriver(db);
      const timeouts: number[] = [];
      const read = (ms: number) =>
        driver.withoutWaiting(async () => {
          timeouts.push(db.pragma('busy_timeout', { simple: true }) as number);
          await sleep(ms);
          return db.prepare('SELECT 1 AS one').get();
        });

      const first = read(20);
      const second = read(100);
      expect(await Promise.all([first, second])).toEqual([{ one: 1 }, { one: 1 }]);

      expect(timeouts).toEqual([0, 0]);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      db.close();
    }
  });
});

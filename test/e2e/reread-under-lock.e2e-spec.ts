import { appendFileSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { lockPathFor } from '../../src/auto-migration/driver/sqlite/lock-path';
import { killStrayChildren, type RunningChild, spawnTs } from '../helpers/child-process';
import { events, execLog, migrationName, REPLICA_FIXTURE, ROWS_PER_TABLE, status } from '../helpers/replica-output';
import { inspect } from '../helpers/sqlite';
import { tempDir } from '../helpers/temp-dir';

/*
 * A waiter reads the history without the lock, finds a migration pending and waits for the lock.
 * Meanwhile another process (played here by the test, step by step) applies that migration
 * while holding the lock, and commits only once the waiter has taken the lock over: every
 * lock-free re-check the waiter made saw the database busy, so only the history it re-reads
 * under the lock can tell it that nothing is left to do. It must not apply the migration again.
 *
 * The journal mode is `delete`: in WAL mode readers are never blocked, and the waiter would see
 * the other process's commit before taking the lock.
 */

jest.setTimeout(120_000);

const APPLIED = migrationName(1);
const RACED = migrationName(2);

describe('the history is re-read under the lock', () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir('auto-migration-reread-');
  });

  afterEach(async () => {
    await killStrayChildren();
    dir.remove();
  });

  function replica(db: string, count: number): RunningChild {
    const go = dir.file('go');
    writeFileSync(go, 'go');
    return spawnTs(REPLICA_FIXTURE, { env: { DB: db, EXEC_LOG: `${db}.exec.log`, GO_FILE: go, COUNT: String(count), JOURNAL_MODE: 'delete' } });
  }

  async function expectSuccess(child: RunningChild): Promise<void> {
    const exit = await child.waitForExit(60_000);
    if (exit.code !== 0) throw new Error(`expected exit code 0, got ${JSON.stringify(exit)}\n${child.describe()}`);
  }

  it('a waiter whose migration another process applied while it waited does not apply it again', async () => {
    const db = dir.file('app.db');
    writeFileSync(`${db}.exec.log`, '');
    await expectSuccess(replica(db, 1));

    // The other process takes the migration lock (the sidecar file's write lock, as the module does).
    const lock = new BetterSqlite3(lockPathFor(db));
    lock.exec('BEGIN IMMEDIATE');
    const waiter = replica(db, 2);
    await waiter.waitForOutput('EVENT lock-waiting ', 60_000);

    // It applies RACED as the module would: the migration and its history row in one transaction,
    // holding SQLite's exclusive lock until it commits, so that nobody can read the file meanwhile.
    const other = new BetterSqlite3(db);
    try {
      other.exec('BEGIN EXCLUSIVE');
      appendFileSync(`${db}.exec.log`, `${process.pid} ${RACED}\n`);
      other.exec('CREATE TABLE t002 (id INTEGER PRIMARY KEY, label TEXT NOT NULL, created_by INTEGER NOT NULL)');
      const insert = other.prepare('INSERT INTO t002 (label, created_by) VALUES (?, ?)');
      for (let row = 1; row <= ROWS_PER_TABLE; row++) insert.run(`t002-row-${row}`, process.pid);
      other
        .prepare('INSERT INTO migrations (name, version, description, checksum, applied_at, execution_time_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(RACED, '1.0.0', 'applied by another process', `replica-fixture-${RACED}`, new Date().toISOString(), 1);
      // It gives the lock up before its commit is visible: the waiter takes the lock while the
      // history still cannot be read, and reads it (waiting on SQLite's lock) under the lock.
      lock.close();
      await waiter.waitForOutput('EVENT lock-acquired ', 60_000);
      other.exec('COMMIT');
    } finally {
      other.close();
      if (lock.open) lock.close();
    }
    await expectSuccess(waiter);

    // Executions, counted outside the database: RACED once, by the other process; none by the waiter.
    expect(execLog(`${db}.exec.log`).map((e) => e.name)).toEqual([APPLIED, RACED]);
    expect(execLog(`${db}.exec.log`).filter((e) => e.pid === waiter.pid)).toEqual([]);
    const types = events(waiter).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['lock-waiting', 'lock-acquired', 'lock-released']));
    expect(types.filter((t) => t.startsWith('migration-') || t === 'run-started')).toEqual([]);
    expect(events(waiter).at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 0, total: 2 });
    expect(status(waiter)).toMatchObject({ state: 'up-to-date', pending: [], lastError: null });
    inspect(db, (conn) => {
      expect(conn.prepare('SELECT name FROM migrations ORDER BY id').pluck().all()).toEqual([APPLIED, RACED]);
      expect(conn.prepare('SELECT COUNT(*) FROM t002').pluck().get()).toBe(ROWS_PER_TABLE);
    });
  });
});

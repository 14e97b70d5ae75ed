import { Worker } from 'node:worker_threads';
import { AutoMigrationService, type DryRunReport } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/** Boots as the command-line tool does (no run at bootstrap), dry-runs what is pending, closes. */
async function dryRun(database: string, migrations: ReturnType<typeof migration>[]): Promise<DryRunReport> {
  const flag = Symbol.for('nestjs-auto-migration.cli');
  (globalThis as Record<symbol, unknown>)[flag] = true;
  const { app } = await bootApp({ database, backup: false }, { migrations }).finally(() => delete (globalThis as Record<symbol, unknown>)[flag]);
  try {
    return await app.get(AutoMigrationService).dryRun();
  } finally {
    await app.close();
  }
}

describe('dry run output', () => {
  const t = useTempDatabase();

  it('shows bound numbers that are whole numbers as integers, leaving literals and other values as SQLite wrote them', async () => {
    const rows = migration('001_rows', (db) => {
      db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, label TEXT, price REAL)');
      const insert = db.prepare('INSERT INTO items (qty, label, price) VALUES (?, ?, ?)');
      insert.run(1, 'v1.0 costs ?', 2.5);
      insert.run(-40, null, 1e20);
      db.prepare('INSERT INTO items (qty, label, price) VALUES (@qty, :label, $price)').run({ qty: 7, label: "it's 3.0", price: 3 });
      db.prepare("SELECT ? AS a, ? AS b, x'01' AS c").get(0, 12);
      db.prepare('SELECT * FROM items WHERE qty > ?').all(2);
      for (const row of db.prepare('SELECT id FROM items WHERE id = ? /* 5.0 */').iterate(1)) void row;
      db.exec("INSERT INTO items (qty, label, price) VALUES (1.0, '2.0', 3.0)");
      db.prepare("SELECT 4.0, '5.0'").get();
    });
    const report = await dryRun(t.db, [rows]);
    expect(report.failed).toBeNull();
    expect(report.migrations[0].statements.map((s) => s.sql)).toEqual([
      'CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, label TEXT, price REAL)',
      "INSERT INTO items (qty, label, price) VALUES (1, 'v1.0 costs ?', 2.5)",
      // Beyond what a REAL spells exactly, SQLite's own text is kept.
      'INSERT INTO items (qty, label, price) VALUES (-40, NULL, 1.0e+20)',
      "INSERT INTO items (qty, label, price) VALUES (7, 'it''s 3.0', 3)",
      "SELECT 0 AS a, 12 AS b, x'01' AS c",
      'SELECT * FROM items WHERE qty > 2',
      'SELECT id FROM items WHERE id = 1 /* 5.0 */',
      // Written in the statement, not bound: as the author wrote it.
      "INSERT INTO items (qty, label, price) VALUES (1.0, '2.0', 3.0)",
      "SELECT 4.0, '5.0'",
    ]);
  });

  it("times the COMMIT apart: it is not added to the migration's last statement", async () => {
    // A reader on the copy holds its shared lock for a second, so the COMMIT waits for it.
    const holdMs = 1_000;
    const waitsAtCommit = migration('001_waits_at_commit', async (db) => {
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      db.prepare('INSERT INTO t (id) VALUES (?)').run(1);
      await holdSharedLock(db.name, holdMs);
      db.exec('SELECT 1');
    });
    const report = await dryRun(t.db, [waitsAtCommit]);
    expect(report.failed).toBeNull();
    const [ran] = report.migrations;
    const last = ran.statements.at(-1)!;
    expect(last.sql).toBe('SELECT 1');
    // The wait happened at the COMMIT: it is the commit's time, not the last statement's.
    expect(last.durationMs).toBeLessThan(holdMs / 2);
    expect(ran.commitMs).toEqual(expect.any(Number));
    expect(last.durationMs).toBeLessThan(ran.commitMs!);
    expect(ran.commitMs!).toBeGreaterThan(holdMs / 4);
    expect(ran.durationMs).toBeGreaterThanOrEqual(Math.floor(ran.commitMs!));
  });

  it('gives no commit time to a migration that runs without a transaction', async () => {
    const report = await dryRun(t.db, [migration('001_plain', (db) => void db.exec('CREATE TABLE p (id INTEGER)'), { transaction: false })]);
    expect(report.migrations[0]).toMatchObject({ transaction: false, commitMs: null });
  });
});

/**
 * Opens `file` in a worker thread, takes a shared lock with a read transaction, resolves once it
 * holds it, and ends the transaction `ms` later (the main thread may be blocked meanwhile).
 */
function holdSharedLock(file: string, ms: number): Promise<void> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const db = new (require(workerData.driver))(workerData.file);
     db.exec('BEGIN');
     db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
     parentPort.postMessage('locked');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
     db.exec('COMMIT');
     db.close();`,
    { eval: true, workerData: { file, ms, driver: require.resolve('better-sqlite3') } },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
}

import BetterSqlite3 from 'better-sqlite3';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { killStrayChildren, type RunningChild, spawnTs } from '../helpers/child-process';
import { CLEARED_LEASE, events, execLog, lines, migrationName, REPLICA_FIXTURE as FIXTURE, ROWS_PER_TABLE, status, WAIT_LINE } from '../helpers/replica-output';
import { tempDir } from '../helpers/temp-dir';

/*
 * A replica (test/fixtures/replica-app.ts) dies by SIGKILL in the middle of a run, or leaves a
 * lease row that looks held; the next start, a real process on the same real file, must not
 * wait for a dead holder, must recover a transactional migration (SQLite rolled it back) and
 * must refuse to retry a half-applied non-transactional one.
 */

const HOST = hostname();

jest.setTimeout(180_000);

function names(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => migrationName(from + i));
}

/** No sign of waiting for a lock holder: no wait line, no lock-waiting event, no waited time. */
function expectNoWait(child: RunningChild): void {
  expect(lines(child).filter((l) => WAIT_LINE.test(l) || l.includes('Took the migration lock after waiting'))).toEqual([]);
  expect(events(child).filter((e) => e.type === 'lock-waiting')).toEqual([]);
}

async function expectExit(child: RunningChild, code: number, timeoutMs = 120_000): Promise<void> {
  const exit = await child.waitForExit(timeoutMs);
  if (exit.code !== code) throw new Error(`expected exit code ${code}, got ${JSON.stringify(exit)}\n${child.describe()}`);
}

async function sigkill(child: RunningChild): Promise<void> {
  child.kill('SIGKILL');
  expect(await child.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
}

function withDb<T>(file: string, fn: (db: BetterSqlite3.Database) => T, readonly = true): T {
  const conn = new BetterSqlite3(file, { readonly, fileMustExist: true });
  try {
    return fn(conn);
  } finally {
    conn.close();
  }
}

describe('recovery after a replica dies, and after a stale lease row', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: string;
  let log: string;

  beforeEach(() => {
    dir = tempDir('auto-migration-crash-');
    db = dir.file('app.db');
    log = dir.file('exec.log');
    writeFileSync(log, '');
  });

  afterEach(async () => {
    await killStrayChildren();
    dir.remove();
  });

  /** A replica on the test's database, stopped at the barrier until `go` exists. */
  function replica(go: string, env: Record<string, string> = {}): RunningChild {
    return spawnTs(FIXTURE, { env: { DB: db, EXEC_LOG: log, GO_FILE: go, ...env } });
  }

  it('SIGKILL inside a slow transactional migration: the next process finishes at once and applies the killed migration once', async () => {
    const goA = dir.file('a.go');
    const a = replica(goA, { HANG_AT: '15', SLOW: '5,15' });
    await a.waitForOutput('READY', 120_000);
    writeFileSync(goA, 'go');
    await a.waitForOutput(`HANG ${a.pid}`, 60_000);
    await sigkill(a);

    // What the dead process left: a rollback journal (or WAL) holding its uncommitted migration,
    // and a lease row that still says it holds the lock. Looked at on a copy, so that the next
    // process is the one that meets the hot journal.
    const journal = [`${db}-journal`, `${db}-wal`].find((f) => existsSync(f));
    expect(journal).toBeDefined();
    const copy = dir.file('copy.db');
    copyFileSync(db, copy);
    copyFileSync(journal!, copy + journal!.slice(db.length));
    withDb(
      copy,
      (c) => {
        expect(c.prepare('SELECT in_progress, owner_host, owner_pid FROM migration_lock WHERE id = 1').get()).toEqual({
          in_progress: 1,
          owner_host: HOST,
          owner_pid: a.pid,
        });
        expect(c.prepare('SELECT COUNT(*) AS n FROM migrations').get()).toEqual({ n: 14 });
        expect(c.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 't015'`).get()).toEqual({ n: 0 });
      },
      false,
    );

    // The recovery process: spawned now, released at once.
    const goB = dir.file('b.go');
    writeFileSync(goB, 'go');
    const spawned = performance.now();
    const b = replica(goB);
    await b.waitForOutput('READY', 120_000);
    const ready = performance.now();
    await expectExit(b, 0, 60_000);
    const exited = performance.now();
    const applying = /Applied 16 migrations in (\d+) ms/.exec(b.stdout());
    console.log(
      `SIGKILL recovery: spawn -> exit ${Math.round(exited - spawned)} ms (of which process start-up to READY ${Math.round(ready - spawned)} ms, ` +
        `READY -> exit ${Math.round(exited - ready)} ms; the run itself, lock to schema up to date, ${applying?.[1] ?? '?'} ms)`,
    );

    // It did not wait for the dead holder: the operating system had released its lock.
    expectNoWait(b);
    expect(b.stdout()).toContain('DONE');
    expect(status(b)).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false, owner: null, suspect: false } });
    const bEvents = events(b);
    expect(bEvents.filter((e) => e.type === 'migration-started').map((e) => e.name)).toEqual(names(15, 30));
    expect(bEvents.at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 16, total: 30 });

    // Executions: A ran 1..15 and died in 15; B ran 15 again (it had been rolled back) and the rest.
    expect(execLog(log)).toEqual([...names(1, 15).map((name) => ({ pid: a.pid, name })), ...names(15, 30).map((name) => ({ pid: b.pid, name }))]);

    withDb(db, (c) => {
      expect((c.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name)).toEqual(names(1, 30));
      expect(c.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT name) AS names FROM migrations').get()).toEqual({ n: 30, names: 30 });
      // The killed migration's table exists once, with B's rows only: A's were rolled back.
      expect(c.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 't015'`).get()).toEqual({ n: 1 });
      expect(c.prepare('SELECT COUNT(*) AS n, MIN(created_by) AS lo, MAX(created_by) AS hi FROM t015').get()).toEqual({
        n: ROWS_PER_TABLE,
        lo: b.pid,
        hi: b.pid,
      });
      expect(c.prepare('SELECT COUNT(*) AS n FROM t014 WHERE created_by = ?').get(a.pid)).toEqual({ n: ROWS_PER_TABLE });
      expect(c.prepare('SELECT * FROM migration_lock').all()).toEqual([CLEARED_LEASE]);
      expect(c.prepare('SELECT COUNT(*) AS n FROM migration_attempts').get()).toEqual({ n: 0 });
      expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
    });
  });

  it('SIGKILL inside a transaction: false migration: the next start refuses with INTERRUPTED_MIGRATION, without waiting for the dead holder', async () => {
    const goA = dir.file('a.go');
    const goB = dir.file('b.go');
    const a = replica(goA, { NOTX_AT: '5', HANG_AT: '5' });
    const b = replica(goB);
    await Promise.all([a.waitForOutput('READY', 120_000), b.waitForOutput('READY', 120_000)]);
    writeFileSync(goA, 'go');
    await a.waitForOutput(`HANG ${a.pid}`, 60_000);

    // While it runs, the lease row names the holder and the non-transactional migration it runs,
    // and its attempt is recorded.
    withDb(db, (c) => {
      expect(c.prepare('SELECT in_progress, owner_host, owner_pid, current_migration FROM migration_lock WHERE id = 1').get()).toEqual({
        in_progress: 1,
        owner_host: HOST,
        owner_pid: a.pid,
        current_migration: '005_create_t005',
      });
      expect(c.prepare('SELECT name, failed_at FROM migration_attempts').all()).toEqual([{ name: '005_create_t005', failed_at: null }]);
    });
    await sigkill(a);
    // Dead now, and the lease row still looks held.
    withDb(db, (c) => expect(c.prepare('SELECT in_progress, owner_pid FROM migration_lock WHERE id = 1').get()).toEqual({ in_progress: 1, owner_pid: a.pid }));

    writeFileSync(goB, 'go');
    await expectExit(b, 1, 60_000);
    expect(b.stderr()).toMatch(
      /^ERROR INTERRUPTED_MIGRATION Interrupted migration, possibly half-applied \(a transaction: false migration that did not finish, or one that ended the transaction it ran in\):\n/,
    );
    expect(b.stderr()).toMatch(/^ {2}- "005_create_t005" started \S+, and its process stopped before it finished$/m);
    expect(b.stderr()).toContain("AutoMigrationService.resolve(name, 'applied')");
    expect(lines(b)).not.toContain('DONE');
    // It took the lock at once (the dead holder's lease row did not hold it up), and ran nothing.
    expectNoWait(b);
    expect(events(b).map((e) => e.type)).toEqual(['lock-acquired', 'lock-released', 'run-finished']);
    expect(events(b)[2]).toMatchObject({ outcome: 'failed', applied: 0, total: 4, error: { code: 'INTERRUPTED_MIGRATION' } });
    expect(execLog(log)).toEqual(names(1, 5).map((name) => ({ pid: a.pid, name })));

    withDb(db, (c) => {
      expect(c.prepare('SELECT name, version, failed_at, error, owner_host, owner_pid FROM migration_attempts').all()).toEqual([
        { name: '005_create_t005', version: '1.0.0', failed_at: null, error: null, owner_host: HOST, owner_pid: a.pid },
      ]);
      expect((c.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name)).toEqual(names(1, 4));
      // Half-applied: outside a transaction, A's statements before the kill stayed.
      expect(c.prepare('SELECT COUNT(*) AS n FROM t005 WHERE created_by = ?').get(a.pid)).toEqual({ n: ROWS_PER_TABLE });
      // B held the lock for its refusal, then cleared the lease row on release.
      expect(c.prepare('SELECT * FROM migration_lock').all()).toEqual([CLEARED_LEASE]);
      expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
    });
  });

  it('a seed-style stale lease row (in_progress = 1, old started_at, no live holder) does not delay the next start', async () => {
    const goA = dir.file('a.go');
    const goB = dir.file('b.go');
    const a = replica(goA, { COUNT: '10' });
    const b = replica(goB, { COUNT: '15' });
    await Promise.all([a.waitForOutput('READY', 120_000), b.waitForOutput('READY', 120_000)]);
    writeFileSync(goA, 'go');
    await expectExit(a, 0);

    withDb(
      db,
      (c) =>
        expect(
          c
            .prepare(
              `UPDATE migration_lock SET in_progress = 1, started_at = '2020-01-01T00:00:00.000Z', owner_host = 'ghost', owner_pid = 999999 WHERE id = 1`,
            )
            .run().changes,
        ).toBe(1),
      false,
    );

    writeFileSync(goB, 'go');
    await expectExit(b, 0, 60_000);
    expectNoWait(b);
    expect(b.stdout()).not.toContain('ghost');
    expect(b.stdout()).toContain('DONE');
    expect(status(b)).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false, owner: null, suspect: false } });
    expect(status(b).applied.map((m: { name: string }) => m.name)).toEqual(names(1, 15));
    expect(
      events(b)
        .filter((e) => e.type === 'migration-applied')
        .map((e) => e.name),
    ).toEqual(names(11, 15));

    // Only the new migrations ran, by B.
    expect(execLog(log)).toEqual([...names(1, 10).map((name) => ({ pid: a.pid, name })), ...names(11, 15).map((name) => ({ pid: b.pid, name }))]);
    withDb(db, (c) => {
      expect((c.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name)).toEqual(names(1, 15));
      // B's run overwrote the ghost with itself, then cleared the row.
      expect(c.prepare('SELECT * FROM migration_lock').all()).toEqual([CLEARED_LEASE]);
      expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
    });
  });
});

import BetterSqlite3 from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { killStrayChildren, type RunningChild, spawnTs } from '../helpers/child-process';
import { CLEARED_LEASE, events, execLog, lines, migrationName, REPLICA_FIXTURE as FIXTURE, ROWS_PER_TABLE, status, waitLines } from '../helpers/replica-output';
import { tempDir } from '../helpers/temp-dir';

/*
 * Many replicas of one application (test/fixtures/replica-app.ts), as real processes on one real
 * SQLite file: released together, exactly one of them migrates and the others wait and start;
 * a holder inside a long synchronous statement is reported as suspect and still waited for; a
 * waiter that gives up names the holder.
 */

const COUNT = 30;
const NAMES = Array.from({ length: COUNT }, (_, i) => migrationName(i + 1));
const HOST = hostname();

jest.setTimeout(240_000);

async function expectExit(child: RunningChild, code: number, timeoutMs = 120_000): Promise<void> {
  const exit = await child.waitForExit(timeoutMs);
  if (exit.code !== code) throw new Error(`expected exit code ${code}, got ${JSON.stringify(exit)}\n${child.describe()}`);
}

describe('many replicas starting against one database file', () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir('auto-migration-replicas-');
  });

  afterEach(async () => {
    await killStrayChildren();
    dir.remove();
  });

  /** A replica on `db`, stopped at the barrier until `go` exists. */
  function replica(db: string, go: string, env: Record<string, string> = {}): RunningChild {
    return spawnTs(FIXTURE, { env: { DB: db, EXEC_LOG: `${db}.exec.log`, GO_FILE: go, ...env } });
  }

  describe('8 processes released together on a fresh file with 30 migrations', () => {
    const PROCESSES = 8;
    // Some migrations await ~100 ms. Two of them run outside a transaction, so during their await
    // no SQLite write lock is held either: without the module's lock, a process released a
    // moment later could start migrating in that window (SQLite's own locking alone does not
    // catch that).
    const SLOW = '2,7,13,19,25,30';
    const NOTX_AT = '7,19';

    /** Spawns a round's processes and waits until all of them stand at the barrier. */
    async function prepareRound(label: string): Promise<{ label: string; db: string; go: string; children: RunningChild[] }> {
      const db = dir.file(`${label}.db`);
      const go = dir.file(`${label}.go`);
      writeFileSync(`${db}.exec.log`, '');
      const children = Array.from({ length: PROCESSES }, () => replica(db, go, { SLOW, NOTX_AT }));
      await Promise.all(children.map((child) => child.waitForOutput('READY', 120_000)));
      return { label, db, go, children };
    }

    async function checkRound({ label, db, go, children }: Awaited<ReturnType<typeof prepareRound>>): Promise<void> {
      expect(existsSync(db)).toBe(false);
      writeFileSync(go, 'go');
      const released = Date.now();
      for (const child of children) await expectExit(child, 0);
      const allExited = Date.now() - released;

      // Every process started normally, and says the schema is up to date.
      for (const child of children) {
        expect(lines(child)).toContain('DONE');
        expect(child.stderr()).not.toMatch(/^ERROR /m);
        const s = status(child);
        expect(s).toMatchObject({ state: 'up-to-date', pending: [], unknown: [], lastError: null });
        expect(s.applied.map((a: { name: string }) => a.name)).toEqual(NAMES);
      }

      // Executions, counted outside the database: each migration exactly once, in order, all of
      // them by one process (the first to take the lock applies everything that is pending).
      const executed = execLog(`${db}.exec.log`);
      expect(executed.map((e) => e.name)).toEqual(NAMES);
      const runnerPid = executed[0].pid;
      expect(executed.every((e) => e.pid === runnerPid)).toBe(true);
      const runner = children.find((child) => child.pid === runnerPid);
      expect(runner).toBeDefined();

      // The events agree: the runner applied 30, every other process applied nothing and had no run.
      const runnerTypes = events(runner!).map((e) => e.type);
      expect(runnerTypes.filter((t) => t === 'migration-applied')).toHaveLength(COUNT);
      expect(runnerTypes.filter((t) => t !== 'migration-started' && t !== 'migration-applied' && t !== 'lock-waiting')).toEqual([
        'lock-acquired',
        'run-started',
        'lock-released',
        'run-finished',
      ]);
      expect(events(runner!).at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: COUNT, total: COUNT });
      // The starts really overlapped: at least one other process found the lock taken and waited
      // for it (a round whose processes happened to start one after the other proves nothing).
      const waiters = children.filter((child) => child !== runner && events(child).some((e) => e.type === 'lock-waiting'));
      if (waiters.length === 0) throw new Error(`${label}: no process waited for the lock\n${children.map((c) => c.describe()).join('\n')}`);
      for (const other of children.filter((child) => child !== runner)) {
        const evs = events(other);
        const types = evs.map((e) => e.type);
        expect(types.filter((t) => t.startsWith('migration-') || t === 'run-started')).toEqual([]);
        expect(evs.at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 0, total: COUNT });
        // Waiters log who held the lock at most once each.
        expect(waitLines(other).length).toBeLessThanOrEqual(1);
      }

      // The database: 30 history rows with unique names, every table once with its rows, the
      // lease row cleared, and a sound file.
      const conn = new BetterSqlite3(db, { readonly: true, fileMustExist: true });
      try {
        expect(conn.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT name) AS names FROM migrations').get()).toEqual({ n: COUNT, names: COUNT });
        expect((conn.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name)).toEqual(NAMES);
        for (let i = 1; i <= COUNT; i++) {
          const table = `t${String(i).padStart(3, '0')}`;
          expect(conn.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)).toEqual({ n: 1 });
          expect(conn.prepare(`SELECT COUNT(*) AS n, MIN(created_by) AS lo, MAX(created_by) AS hi FROM ${table}`).get()).toEqual({
            n: ROWS_PER_TABLE,
            lo: runnerPid,
            hi: runnerPid,
          });
        }
        expect(conn.prepare('SELECT * FROM migration_lock').all()).toEqual([CLEARED_LEASE]);
        expect(conn.prepare('SELECT COUNT(*) AS n FROM migration_attempts').get()).toEqual({ n: 0 });
        expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        conn.close();
      }
      process.stdout.write(
        `${label}: migrations applied by pid ${runnerPid}; waiters that logged a wait line: ${children.filter((c) => waitLines(c).length === 1).length}/${PROCESSES - 1}; release -> all exited ${allExited} ms\n`,
      );
    }

    it('apply each migration exactly once, and all of them start (3 rounds, fresh file each)', async () => {
      // The next round's processes load (a few seconds of CPU each) while the current one is
      // checked; they stay at their barrier until released, so the rounds never overlap.
      let next = prepareRound('round-1');
      for (let round = 1; round <= 3; round++) {
        const current = await next;
        await checkRound(current);
        if (round < 3) next = prepareRound(`round-${round + 1}`);
      }
    });
  });

  it('a holder inside a synchronous statement longer than staleAfterMs is reported as suspect and still waited for', async () => {
    const db = dir.file('block.db');
    const goA = dir.file('a.go');
    const goB = dir.file('b.go');
    writeFileSync(`${db}.exec.log`, '');
    // A blocks its event loop for 4 s inside migration 010 (no heartbeat meanwhile); a heartbeat
    // older than 300 ms makes it suspect.
    const a = replica(db, goA, { BLOCK_AT: '10:4000', STALE_AFTER_MS: '300' });
    const b = replica(db, goB, { STALE_AFTER_MS: '300' });
    await Promise.all([a.waitForOutput('READY', 120_000), b.waitForOutput('READY', 120_000)]);

    writeFileSync(goA, 'go');
    await a.waitForOutput(`BLOCK ${a.pid}`, 60_000);
    await sleep(1_000);
    writeFileSync(goB, 'go');

    await expectExit(a, 0);
    await expectExit(b, 0);

    // B waited, and said once who held the lock and that its heartbeat was stale.
    const waits = waitLines(b);
    expect(waits).toHaveLength(1);
    const holder = new RegExp(
      `^LOG \\[AutoMigration\\] Migration lock held by ${escapeRegExp(HOST)}/${a.pid} \\(instance [0-9a-f]{8}\\) for \\d+ s; waiting up to 120000 ms\\. ` +
        `Its heartbeat is older than lock\\.staleAfterMs \\(300 ms\\): it is alive \\(it holds the lock\\) but may be in a long statement\\.$`,
    );
    expect(waits[0]).toMatch(holder);
    const waiting = events(b).filter((e) => e.type === 'lock-waiting');
    expect(waiting).toHaveLength(1);
    expect(waiting[0].holder).toMatchObject({ owner: { host: HOST, pid: a.pid }, suspect: true });

    // No concurrent run: A executed every migration once, B executed nothing; B stopped waiting
    // once a lock-free read showed A had applied them all, without taking the lock itself.
    expect(execLog(`${db}.exec.log`)).toEqual(NAMES.map((name) => ({ pid: a.pid, name })));
    expect(events(b).map((e) => e.type)).toEqual(['lock-waiting', 'run-finished']);
    expect(lines(b).filter((line) => line.includes('Took the migration lock'))).toEqual([]);
    expect(events(b).at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: 0, total: COUNT });

    // A never reported anyone else, and both are up to date.
    expect(waitLines(a)).toEqual([]);
    for (const child of [a, b]) expect(status(child)).toMatchObject({ state: 'up-to-date', pending: [], lastError: null });
    const conn = new BetterSqlite3(db, { readonly: true });
    try {
      expect(conn.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT name) AS names FROM migrations').get()).toEqual({ n: COUNT, names: COUNT });
      expect(conn.prepare('SELECT in_progress, owner_pid FROM migration_lock WHERE id = 1').get()).toEqual({ in_progress: 0, owner_pid: null });
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      conn.close();
    }
  });

  it('a waiter that gives up after lock.timeoutMs names the holder and how long it has held the lock', async () => {
    const db = dir.file('timeout.db');
    const goA = dir.file('a.go');
    const goB = dir.file('b.go');
    writeFileSync(`${db}.exec.log`, '');
    const a = replica(db, goA, { HANG_AT: '3' });
    const b = replica(db, goB, { LOCK_TIMEOUT_MS: '1500' });
    await Promise.all([a.waitForOutput('READY', 120_000), b.waitForOutput('READY', 120_000)]);

    writeFileSync(goA, 'go');
    await a.waitForOutput(`HANG ${a.pid}`, 60_000);
    writeFileSync(goB, 'go');
    await expectExit(b, 1);

    const holder = `${escapeRegExp(HOST)}/${a.pid} \\(instance [0-9a-f]{8}\\) for \\d+ s`;
    expect(b.stderr()).toMatch(new RegExp(`^ERROR LOCK_TIMEOUT Gave up waiting for the migration lock after \\d+ ms: it is held by ${holder}\\. `, 'm'));
    const waited = Number(/after (\d+) ms/.exec(b.stderr())![1]);
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waitLines(b)).toHaveLength(1);
    // (A's last heartbeat came before migration 003's transaction, none is written inside it: the
    // optional suffix would appear only if B got here more than 15 s later.)
    expect(waitLines(b)[0]).toMatch(new RegExp(`held by ${holder}; waiting up to 1500 ms\\.( Its heartbeat is older than .*)?$`));
    expect(lines(b)).not.toContain('DONE');
    expect(events(b).map((e) => e.type)).toEqual(['lock-waiting', 'run-finished']);
    expect(events(b)[1]).toMatchObject({ outcome: 'failed', applied: 0, error: { code: 'LOCK_TIMEOUT' } });

    // B executed nothing; A is still inside migration 003.
    expect(execLog(`${db}.exec.log`)).toEqual([1, 2, 3].map((i) => ({ pid: a.pid, name: migrationName(i) })));
    expect(a.exited).toBe(false);
    a.kill('SIGKILL');
    expect(await a.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

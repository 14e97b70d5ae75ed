import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockKeyFor } from '../../src/auto-migration/driver/postgres/pg-lock-key';
import { killStrayChildren, type RunningChild } from '../helpers/child-process';
import {
  executions,
  historyNames,
  lockSessions,
  migrationNames,
  ourAdvisoryLocks,
  type PgReplicaRun,
  pgReplicaRun,
  release,
  until,
} from '../helpers/pg-replicas';
import { usePgSchema, withPgClient } from '../helpers/postgres';
import { execLog, lines, migrationName, ROWS_PER_TABLE, waitLines } from '../helpers/replica-output';

/*
 * Real replicas (test/fixtures/pg-replica-app.ts) on the test run's PostgreSQL server, each test
 * on a schema of its own: exactly once under contention, a crashed holder, a frozen one, CREATE
 * INDEX CONCURRENTLY while others wait, the DDL lock timeout, a hostile role default, and what
 * the module leaves in pg_locks. Each asserts on the execution log (outside the database), the
 * history table, the server's locks and sessions, exit codes and output.
 */

const pg = usePgSchema('replicas');
const STOPPED_WAITING = 'LOG [AutoMigration] Stopped waiting for the migration lock';
let schemas = 0;
let run: PgReplicaRun | undefined;

/** A fresh schema (inside the file's name space, dropped after the file) and a folder for the test's replicas. */
async function freshRun(): Promise<PgReplicaRun> {
  const schema = `${pg.schema}_${++schemas}`;
  await pg.query(`CREATE SCHEMA ${schema}`);
  dropped.push(schema);
  run = pgReplicaRun(pg.url, schema);
  return run;
}
const dropped: string[] = [];

afterEach(async () => {
  await killStrayChildren();
  run?.remove();
  run = undefined;
});
afterAll(async () => {
  for (const schema of dropped) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

async function expectExit(child: RunningChild, code: number, timeoutMs = 120_000): Promise<void> {
  const exit = await child.waitForExit(timeoutMs);
  if (exit.code !== code) throw new Error(`expected exit code ${code}, got ${JSON.stringify(exit)}\n${child.describe()}`);
}

/** Nothing of the module is left on the server: no advisory lock of its key space, no lock session. */
async function expectNothingLeft(): Promise<void> {
  expect(await ourAdvisoryLocks(pg.url)).toEqual([]);
  expect(await lockSessions(pg.url)).toEqual([]);
}

/** Each of the first `count` migrations started exactly once, and is in the history exactly once, in order. */
async function expectExactlyOnce(r: PgReplicaRun, count: number): Promise<void> {
  const counts = executions(r.log);
  const twice = [...counts].filter(([, n]) => n !== 1);
  expect(twice).toEqual([]);
  expect([...counts.keys()].sort()).toEqual(migrationNames(count));
  expect(await historyNames(pg.url, r.schema)).toEqual(migrationNames(count));
}

/**
 * After a holder `killed` died inside migration `at`: history complete, every migration started
 * once except `at`, started by the dead holder and once more by the process whose rows it kept.
 */
async function expectExactlyOnceAfter(r: PgReplicaRun, count: number, at: number, killed: number): Promise<void> {
  expect(await historyNames(pg.url, r.schema)).toEqual(migrationNames(count));
  const log = execLog(r.log);
  const starts = log.filter((e) => e.name === migrationName(at)).map((e) => e.pid);
  expect(starts).toHaveLength(2);
  expect(starts[0]).toBe(killed);
  expect(log.filter((e) => e.name !== migrationName(at)).map((e) => e.name)).toEqual(migrationNames(count).filter((n) => n !== migrationName(at)));
  // The dead holder's rows were rolled back with its session; the successor's committed.
  expect(await rowsCreatedBy(r.schema, at)).toEqual(Array(ROWS_PER_TABLE).fill(starts[1]));
}

/** Who inserted the rows of a fixture migration's table: the process whose transaction committed. */
async function rowsCreatedBy(schema: string, index: number): Promise<number[]> {
  const table = `${schema}.t${String(index).padStart(3, '0')}`;
  return (await pg.query<{ by: number }>(`SELECT created_by AS by FROM ${table}`)).rows.map((r) => r.by);
}

describe('PostgreSQL replicas: real processes on a real server', () => {
  it('8 replicas released together on a fresh schema with 200 migrations: every up() ran once, 200 history rows, all exit 0, waiters stopped waiting', async () => {
    const r = await freshRun();
    const go = r.barrier();
    const replicas = Array.from({ length: 8 }, () => r.replica(go, { COUNT: '200' }));
    await release(go, replicas);
    for (const replica of replicas) await expectExit(replica, 0, 180_000);

    await expectExactlyOnce(r, 200);
    expect(replicas.some((c) => waitLines(c).length > 0)).toBe(true);
    // Waiters re-read the history between polls: those that found nothing left went away without the lock.
    expect(replicas.filter((c) => c.stdout().includes(STOPPED_WAITING)).length).toBeGreaterThan(0);
    for (const c of replicas) if (c.stdout().includes(STOPPED_WAITING)) expect(execLog(r.log).some((e) => e.pid === c.pid)).toBe(false);
    await expectNothingLeft();
  }, 240_000);

  it('SIGKILL of the holder inside a migration: a waiting replica and a fresh process finish within 2 s of the kill; the killed migration committed once', async () => {
    const r = await freshRun();
    const goA = r.barrier();
    const goW = r.barrier();
    const goB = r.barrier();
    const a = r.replica(goA, { COUNT: '20', HANG_AT: '10' });
    const waiter = r.replica(goW, { COUNT: '20' });
    const fresh = r.replica(goB, { COUNT: '20' });
    await release(goA, [a]);
    await a.waitForOutput(`HANG ${a.pid}`, 60_000);
    await release(goW, [waiter]);
    await waiter.waitForOutput('LOG [AutoMigration] Migration lock held by', 60_000);
    await fresh.waitForOutput('READY', 60_000);

    const killedAt = Date.now();
    a.kill('SIGKILL');
    writeFileSync(goB, '');
    const recoveryMs = async (child: RunningChild) => {
      await expectExit(child, 0, 60_000);
      return Date.now() - killedAt;
    };
    const [waiterMs, freshMs] = await Promise.all([recoveryMs(waiter), recoveryMs(fresh)]);
    expect(await a.waitForExit(10_000)).toEqual({ code: null, signal: 'SIGKILL' });

    // The bound, measured from the kill to each process's exit (the fresh one's Nest start-up included).
    expect({ waiterMs, freshMs, within2s: waiterMs < 2_000 && freshMs < 2_000 }).toEqual({ waiterMs, freshMs, within2s: true });
    await expectExactlyOnceAfter(r, 20, 10, a.pid);
    await expectNothingLeft();
  }, 120_000);

  it('a frozen holder (SIGSTOP): a waiter times out naming it; its lock session terminated, a successor applies; resumed, its commit is refused (LOCK_LOST)', async () => {
    const r = await freshRun();
    const resume = join(dirname(r.log), 'resume');
    const goA = r.barrier();
    const a = r.replica(goA, { COUNT: '12', HANG_AT: '6', RESUME_FILE: resume });
    await release(goA, [a]);
    await a.waitForOutput(`HANG ${a.pid}`, 60_000);
    a.kill('SIGSTOP');

    // The frozen holder's lock session is alive on the server: a waiter gives up after its lock.timeoutMs, naming it.
    const goW = r.barrier();
    const waiter = r.replica(goW, { COUNT: '12', LOCK_TIMEOUT_MS: '1500' });
    await release(goW, [waiter]);
    await expectExit(waiter, 1, 60_000);
    expect(waiter.stderr()).toMatch(/^ERROR LOCK_TIMEOUT /);
    expect(waiter.stderr()).toContain(`${hostname()}/${a.pid}`);

    // What an operator does: end the frozen holder's lock session. Its migration session stays, idle in its transaction.
    const terminated = await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 AND pg_terminate_backend(pid)`, [
      `nam-lock ${a.pid} %`,
    ]);
    expect(terminated.rowCount).toBe(1);

    // The successor takes the lock and reaches the frozen migration, whose uncommitted table it waits for.
    const goS = r.barrier();
    const successor = r.replica(goS, { COUNT: '12', DDL_LOCK_TIMEOUT_MS: '60000' });
    await release(goS, [successor]);
    await until(
      async () => (await pg.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'CREATE TABLE t006%'`)).rowCount === 1,
      'the successor to wait for the frozen migration',
      60_000,
    );

    writeFileSync(resume, '');
    a.kill('SIGCONT');
    await expectExit(a, 1, 60_000);
    expect(a.stderr()).toMatch(/^ERROR LOCK_LOST /);
    expect(a.stderr()).toContain(migrationName(6));
    await expectExit(successor, 0, 60_000);

    expect(await historyNames(pg.url, r.schema)).toEqual(migrationNames(12));
    const log = execLog(r.log);
    expect(log.filter((e) => e.name === migrationName(6)).map((e) => e.pid)).toEqual([a.pid, successor.pid]);
    expect(log.filter((e) => e.pid === waiter.pid)).toEqual([]);
    expect(await rowsCreatedBy(r.schema, 6)).toEqual(Array(ROWS_PER_TABLE).fill(successor.pid));
    await expectNothingLeft();
  }, 180_000);

  it('CREATE INDEX CONCURRENTLY on a 200,000-row table while 7 replicas wait: all exit 0, the index is valid, no deadlock', async () => {
    const r = await freshRun();
    await pg.query(`CREATE TABLE ${r.schema}.big (v int); INSERT INTO ${r.schema}.big SELECT g FROM generate_series(1, 200000) g`);
    const serverLog = await serverLogFile();
    const logFrom = serverLog ? statSync(serverLog).size : 0;

    const go = r.barrier();
    const replicas = Array.from({ length: 8 }, () => r.replica(go, { COUNT: '10', CIC_AT: '5' }));
    await release(go, replicas);
    for (const replica of replicas) await expectExit(replica, 0, 120_000);

    await expectExactlyOnce(r, 10);
    const index = await pg.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = '${r.schema}.t005_big_v'::regclass`);
    expect(index.rows).toEqual([{ valid: true }]);
    for (const c of replicas) expect(c.describe()).not.toContain('deadlock detected');
    if (serverLog) expect(readFileSync(serverLog, 'utf8').slice(logFrom)).not.toContain('deadlock detected');
    await expectNothingLeft();
  }, 180_000);

  it("a DDL statement blocked by an application's transaction fails after ddl.lockTimeoutMs (55P03 advice) while the table's readers wait no longer than that", async () => {
    const r = await freshRun();
    const goFirst = r.barrier();
    const first = r.replica(goFirst, { COUNT: '3' });
    await release(goFirst, [first]);
    await expectExit(first, 0);

    const lockTimeoutMs = 1_500;
    const app = await pg.client();
    await app.query(`BEGIN; SELECT count(*) FROM ${r.schema}.t003`);
    const reader = await pg.client();
    const go = r.barrier();
    const migrating = r.replica(go, { COUNT: '4', ALTER_AT: '4', DDL_LOCK_TIMEOUT_MS: String(lockTimeoutMs) });
    await release(go, [migrating]);

    const alterWaits = async () =>
      (await pg.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE t003%'`)).rowCount === 1;
    await until(alterWaits, 'the ALTER TABLE to wait for the table lock', 60_000, 10);
    const waitSeenAt = Date.now();
    // The application keeps reading the table while the ALTER waits, and after it gave up.
    const readMs: number[] = [];
    while (!migrating.exited) {
      const started = Date.now();
      await reader.query(`SELECT count(*) FROM ${r.schema}.t003`);
      readMs.push(Date.now() - started);
      await sleep(50);
    }
    await expectExit(migrating, 1, 10_000);
    const failedAfterMs = Date.now() - waitSeenAt;
    const started = Date.now();
    await reader.query(`SELECT count(*) FROM ${r.schema}.t003`);
    const readAfterMs = Date.now() - started;
    await app.query('ROLLBACK');

    expect(migrating.stderr()).toMatch(/^ERROR MIGRATION_FAILED /);
    expect(migrating.stderr()).toContain(migrationName(4));
    expect(migrating.stderr()).toContain('55P03');
    expect(migrating.stderr()).toContain('lockTimeoutMs');
    // Generous slack for a noisy machine: without a lock timeout the ALTER (and every read queued behind it) waits as long as the application's transaction.
    expect(failedAfterMs).toBeLessThan(lockTimeoutMs + 3_000);
    expect(Math.max(...readMs)).toBeLessThan(lockTimeoutMs + 1_000);
    expect(readAfterMs).toBeLessThan(1_000);
    expect(await historyNames(pg.url, r.schema)).toEqual(migrationNames(3));
    expect((await pg.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 't004'`, [r.schema])).rowCount).toBe(0);
    await expectNothingLeft();
  }, 120_000);

  it('a role whose default idle_in_transaction_session_timeout is 1 s runs a 6 s run (migrations awaiting timers): all applied, none twice', async () => {
    const role = `r_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(8).toString('hex');
    const schema = `${pg.schema}_${++schemas}`;
    // The role owns its schema and has no CREATE on the database: the module must not need it for a schema that exists.
    await pg.query(
      `CREATE ROLE ${role} LOGIN PASSWORD '${password}'; ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '1s'; CREATE SCHEMA ${schema} AUTHORIZATION ${role}`,
    );
    try {
      const url = new URL(pg.url);
      url.username = role;
      url.password = password;
      expect(await withPgClient(url.toString(), async (c) => (await c.query('SHOW idle_in_transaction_session_timeout')).rows[0])).toEqual({
        idle_in_transaction_session_timeout: '1s',
      });
      run = pgReplicaRun(url.toString(), schema);
      const go = run.barrier();
      // Ten migrations each idle in their transaction for 0.6 s (under the role's second); the lock session is idle in its own for the whole run.
      const child = run.replica(go, { COUNT: '10', SLEEP_MS_AT: '*:600' });
      await release(go, [child]);
      const started = Date.now();
      await expectExit(child, 0, 60_000);
      expect(Date.now() - started).toBeGreaterThan(6_000);
      await expectExactlyOnce(run, 10);
      await expectNothingLeft();
    } finally {
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  }, 120_000);

  it('nothing of ours is left in pg_locks after a failed run; 20 starts with nothing pending never take the lock nor open a lock session', async () => {
    const r = await freshRun();
    const goFirst = r.barrier();
    const first = r.replica(goFirst, { COUNT: '5' });
    await release(goFirst, [first]);
    await expectExit(first, 0);
    await expectNothingLeft();

    // A failed run: its sixth migration's table exists already.
    await pg.query(`CREATE TABLE ${r.schema}.t006 (id int)`);
    const goFailing = r.barrier();
    const failing = r.replica(goFailing, { COUNT: '6' });
    await release(goFailing, [failing]);
    await expectExit(failing, 1);
    expect(failing.stderr()).toMatch(/^ERROR MIGRATION_FAILED /);
    await expectNothingLeft();
    await pg.query(`DROP TABLE ${r.schema}.t006`);

    // A trap: this test holds the module's key. A start that went for the lock would wait, and log it.
    const { namespace, key } = lockKeyFor(r.schema);
    const trap = await pg.client();
    await trap.query(`BEGIN; SELECT pg_try_advisory_xact_lock(${namespace}, ${key})`);
    const trapPid = (await trap.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const seen: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const l of await ourAdvisoryLocks(pg.url)) if (l.pid !== trapPid) seen.push(`advisory lock of backend ${l.pid}`);
        for (const s of await lockSessions(pg.url)) seen.push(`lock session ${s.name}`);
        await sleep(5);
      }
    })();
    const starts: RunningChild[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const go = r.barrier();
      const five = Array.from({ length: 5 }, () => r.replica(go, { COUNT: '5', LOCK_TIMEOUT_MS: '5000' }));
      await release(go, five);
      for (const c of five) await expectExit(c, 0);
      starts.push(...five);
    }
    sampling = false;
    await sampler;
    await trap.query('ROLLBACK');

    expect(seen).toEqual([]);
    for (const c of starts) {
      expect(waitLines(c)).toEqual([]);
      expect(lines(c).filter((l) => l.startsWith(STOPPED_WAITING))).toEqual([]);
    }
    expect(execLog(r.log).map((e) => e.pid)).toEqual(Array(5).fill(first.pid).concat(failing.pid));
    await expectNothingLeft();
  }, 180_000);
});

/** The embedded test server's log (test/postgres-server.js keeps it beside the data directory), or null for a server PG_TEST_URL names. */
async function serverLogFile(): Promise<string | null> {
  const dataDir = (await pg.query<{ data_directory: string }>('SHOW data_directory')).rows[0].data_directory;
  const file = join(dirname(dataDir), 'postgres.log');
  return existsSync(file) ? file : null;
}

import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { CLI_SOURCE, type CliRun, freePort, httpGet, killStrayChildren, REPO_ROOT, type RunningChild, spawnTs, waitForHttp } from '../helpers/child-process';
import { inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * What an operator sees while another process works: the CLI's `status`, `resolve` and `repair`,
 * and a serving replica's GET /migrations/status and readiness, while a real process holds the
 * migration lock (test/fixtures/operator-app.ts, held at a step by a gate file).
 */

jest.setTimeout(180_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'operator-app.ts');
const ALL = ['001_create_items', '002_fill_blobs', '003_notx_index'];

describe('status, resolve, repair and health while another process works', () => {
  const t = useTempDatabase();
  afterEach(killStrayChildren);

  const env = (extra: Record<string, string> = {}) => ({ DB: t.db, GATE_DIR: t.dir.path, ...extra });

  /** `nest-auto-migration <args>` on the fixture's module, timed; `hold` gates a step of that process. */
  async function cli(args: string[], extra: Record<string, string> = {}): Promise<CliRun & { ms: number }> {
    const started = performance.now();
    const child = cliProcess(args, extra);
    const exit = await child.waitForExit(120_000);
    return { code: exit.code, stdout: child.stdout(), stderr: child.stderr(), describe: () => child.describe(), ms: performance.now() - started };
  }

  function cliProcess(args: string[], extra: Record<string, string> = {}): RunningChild {
    return spawnTs(CLI_SOURCE, { cwd: t.dir.path, env: env(extra), args: [...args, '--module', `${FIXTURE}#OperatorAppModule`] });
  }

  function expectExit(run: CliRun, code: number): void {
    if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
  }

  /** The holder: an application context applying what is pending, held at `hold` until released. */
  async function holderAt(hold: string, extra: Record<string, string> = {}): Promise<RunningChild> {
    const holder = spawnTs(FIXTURE, { env: env({ ROLE: 'holder', HOLD: hold, ...extra }) });
    await holdingAt(hold, holder);
    return holder;
  }

  async function holdingAt(step: string, child: RunningChild): Promise<void> {
    const file = t.dir.file(`holding-${step}`);
    const deadline = Date.now() + 120_000;
    while (!existsSync(file)) {
      if (child.exited) throw new Error(`exited before holding at ${step}\n${child.describe()}`);
      if (Date.now() > deadline) throw new Error(`not holding at ${step} after 120 s\n${child.describe()}`);
      await sleep(20);
    }
  }

  const release = (step: string) => writeFileSync(t.dir.file(`release-${step}`), 'go');

  /** A serving replica of the same app on the same file. */
  async function server(extra: Record<string, string> = {}): Promise<{ child: RunningChild; url: string }> {
    const port = await freePort();
    const child = spawnTs(FIXTURE, { env: env({ ROLE: 'server', PORT: String(port), ...extra }) });
    await child.waitForOutput(`LISTENING ${port}`, 120_000);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/migrations/status`, 10_000, child);
    return { child, url };
  }

  /** An existing file in the rollback journal (`journal_mode=delete`), as databases made before WAL was the default are. */
  function rollbackJournalFile(): void {
    const db = new BetterSqlite3(t.db);
    db.pragma('user_version = 1');
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  }

  /** Whether a reader that does not wait is locked out of the history right now. */
  function readersLockedOut(): boolean {
    const db = new BetterSqlite3(t.db, { timeout: 0 });
    try {
      db.prepare('SELECT COUNT(*) FROM migrations').get();
      return false;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
      throw error;
    } finally {
      db.close();
    }
  }

  const names = (list: { name: string }[]) => list.map((m) => m.name);

  it('rollback journal, a large migration holding readers out: CLI status answers running (exit 1) with the holder at once, and so does a replica starting meanwhile', async () => {
    rollbackJournalFile();
    const holder = await holderAt('002');
    // The scenario is real: the holder spilled its page cache, and nobody can read the database.
    expect(readersLockedOut()).toBe(true);

    const replica = await server({ MODE: 'background' });
    const [locked, replicaStatus, replicaHealth] = await Promise.all([
      cli(['status', '--json']),
      httpGet(`${replica.url}/migrations/status`, 30_000),
      httpGet(`${replica.url}/health`, 30_000),
    ]);
    expect(readersLockedOut()).toBe(true);

    expectExit(locked, 1);
    const status = JSON.parse(locked.stdout);
    expect(status).toMatchObject({ state: 'running', lastError: null, lock: { held: true, owner: { host: hostname(), pid: holder.pid } } });
    // Never read by this fresh process: said so, and nothing invented.
    expect(status).toMatchObject({ historyStale: true, historyReadAt: null, applied: [], pending: [], unknown: [] });
    expect(locked.stderr).not.toMatch(/^error /m);

    // The replica (its own background run waits for the lock) names the holder too; not ready yet, so not healthy.
    expect(replicaStatus.status).toBe(200);
    expect(replicaStatus.json()).toMatchObject({ state: 'running', lastError: null, lock: { held: true, owner: { pid: holder.pid } } });
    expect(replicaHealth.status).toBe(503);

    release('002');
    expect(await holder.waitForExit(120_000)).toEqual({ code: 0, signal: null });
    const free = await cli(['status', '--json']);
    expectExit(free, 0);
    expect(JSON.parse(free.stdout)).toMatchObject({ state: 'up-to-date', historyStale: false, lock: { held: false, owner: null } });
    expect(names(JSON.parse(free.stdout).applied)).toEqual(ALL);
    // Within a second or two of an unhindered status (both pay the same process start-up).
    expect(locked.ms).toBeLessThan(free.ms + 5_000);
    await expectEventually(async () => (await httpGet(`${replica.url}/health`)).status === 200);
    expect((await httpGet(`${replica.url}/migrations/status`)).json()).toMatchObject({ state: 'up-to-date', pending: [] });
  });

  it('WAL: CLI status while another process migrates says running, with the history it can read', async () => {
    const holder = await holderAt('002', { JOURNAL: 'wal' });
    expect(readersLockedOut()).toBe(false);

    const run = await cli(['status', '--json'], { JOURNAL: 'wal' });
    expectExit(run, 1);
    const status = JSON.parse(run.stdout);
    expect(status).toMatchObject({ state: 'running', lastError: null, historyStale: false, lock: { held: true, owner: { pid: holder.pid } } });
    expect(names(status.applied)).toEqual(ALL.slice(0, 1));
    expect(names(status.pending)).toEqual(ALL.slice(1));
    release('002');
    expect(await holder.waitForExit(120_000)).toEqual({ code: 0, signal: null });
  });

  it('a transaction: false migration a live process runs is running, not interrupted; resolve and repair are refused at once, naming it; once it is killed it is interrupted', async () => {
    rollbackJournalFile();
    const holder = await holderAt('003');

    const [status, resolve, repair] = await Promise.all([cli(['status', '--json']), cli(['resolve', '003_notx_index', '--applied']), cli(['repair'])]);
    expectExit(status, 1);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: 'running',
      lastError: null,
      lock: { held: true, owner: { host: hostname(), pid: holder.pid }, current: '003_notx_index' },
    });
    for (const refused of [resolve, repair]) {
      expectExit(refused, 2);
      expect(refused.stderr).toMatch(new RegExp(`^error LOCK_HELD: The migration lock is held by a live process: ${hostname()}/${holder.pid} `, 'm'));
    }
    // Nothing was recorded or cleared.
    expect(inspect(t.db, (db) => db.prepare('SELECT name FROM migration_attempts').pluck().all())).toEqual(['003_notx_index']);

    holder.kill('SIGKILL');
    expect(await holder.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const after = await cli(['status', '--json']);
    expectExit(after, 2);
    expect(JSON.parse(after.stdout)).toMatchObject({
      state: 'failed',
      lastError: { code: 'INTERRUPTED_MIGRATION', migration: '003_notx_index' },
      lock: { held: false },
    });
    // Refused promptly, not after the fixture's lock.timeoutMs (30 s): compared with the status
    // that ran beside them (the same process start-up, on the same busy machine).
    for (const refused of [resolve, repair]) expect(refused.ms).toBeLessThan(status.ms + 10_000);
  });

  it("a replica's status follows a down and an up by another process within seconds, and its health stays up (it was ready)", async () => {
    rollbackJournalFile();
    const replica = await server();
    expect((await httpGet(`${replica.url}/health`)).status).toBe(200);

    const down = cliProcess(['down', '--steps', '1'], { HOLD: 'down:003' });
    await holdingAt('down:003', down);
    const during = (await httpGet(`${replica.url}/migrations/status`)).json();
    expect(during).toMatchObject({ state: 'running', lock: { held: true, owner: { pid: down.pid } } });
    const healthDuring = await httpGet(`${replica.url}/health`);
    expect(healthDuring.status).toBe(200);
    expect(healthDuring.json().details.migrations).toMatchObject({ status: 'up', state: 'running', reason: 'another process is migrating' });

    release('down:003');
    expect((await down.waitForExit(120_000)).code).toBe(0);
    const reverted = performance.now();
    await expectEventually(async () => (await httpGet(`${replica.url}/migrations/status`)).json().state === 'pending');
    expect(performance.now() - reverted).toBeLessThan(2_000);
    const status = (await httpGet(`${replica.url}/migrations/status`)).json();
    expect(status).toMatchObject({ state: 'pending', lock: { held: false, owner: null }, historyStale: false });
    expect(names(status.pending)).toEqual(['003_notx_index']);
    const health = await httpGet(`${replica.url}/health`);
    expect(health.status).toBe(200);
    expect(health.json().details.migrations).toMatchObject({
      status: 'up',
      state: 'pending',
      reason: 'changed since this instance became ready',
      pending: ['003_notx_index'],
    });
    await httpGet(`${replica.url}/health`);
    expect(replica.child.stdout().match(/Migration state "pending": the migration history changed since this instance became ready/g)).toHaveLength(1);

    expectExit(await cli(['up']), 0);
    await expectEventually(async () => (await httpGet(`${replica.url}/migrations/status`)).json().state === 'up-to-date');
    const back = await httpGet(`${replica.url}/health`);
    expect(back.status).toBe(200);
    expect(back.json().details.migrations).toEqual({ status: 'up', state: 'up-to-date', applied: 3 });
  });
});

/** Polls `check` until it holds, for up to 10 s. */
async function expectEventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(50);
  }
}

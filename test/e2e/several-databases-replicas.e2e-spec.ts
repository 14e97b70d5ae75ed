import BetterSqlite3 from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { lockPathFor } from '../../src/auto-migration/driver/sqlite/lock-path';
import { lockKeyFor } from '../../src/auto-migration/driver/postgres/pg-lock-key';
import { killStrayChildren, type RunningChild } from '../helpers/child-process';
import { usePgSchema } from '../helpers/postgres';
import {
  analyticsContents,
  type DatabaseContents,
  executionLog,
  INSTANCES,
  instanceEvents,
  instanceMigrationNames,
  type InstanceName,
  instanceStatus,
  sqliteContents,
  type TwoInstanceRun,
  twoInstanceRun,
} from '../helpers/two-instance-replicas';

/*
 * Real processes of one app with two databases (test/fixtures/two-instance-replica-app.ts): the
 * default instance on a SQLite file and the instance "analytics" on a second SQLite file or on a
 * PostgreSQL schema, each with migrations of its own. Released together, each instance's
 * migrations run exactly once, each in its own database, and every process starts with both up
 * to date; one instance's lock held elsewhere never holds up the other's.
 */

const COUNT = 50;
const PROCESSES = 8;
// Some migrations await ~50 ms, so that each instance's run holds its lock for at least ~250 ms
// while the others arrive; one of them outside a transaction, so during its await no write lock
// of its database is held either: only the instance's own lock keeps the others out then.
const SLOW = '5,15,25,35,45';
const NOTX_AT = '25';
const NAMES: Record<InstanceName, string[]> = { default: instanceMigrationNames('default', COUNT), analytics: instanceMigrationNames('analytics', COUNT) };
const INSTANCE_NAMES = Object.keys(INSTANCES) as InstanceName[];

jest.setTimeout(120_000);

const pg = usePgSchema('two_instances');
const schemas: string[] = [];
let run: TwoInstanceRun | undefined;

/** A fresh schema inside the file's name space, dropped after the file. */
async function freshSchema(label: string): Promise<string> {
  const schema = `${pg.schema}_${label}`;
  await pg.query(`CREATE SCHEMA ${schema}`);
  schemas.push(schema);
  return schema;
}

// One process runs the fixture through both drivers first, compiling what it loads (the drivers
// are loaded lazily, at start-up) into the run's shared cache: eight processes compiling the same
// files at once on a small machine take several times longer.
beforeAll(async () => {
  const warm = twoInstanceRun({ url: pg.url, schema: await freshSchema('warm') });
  try {
    const go = warm.barrier();
    const child = warm.replica(go, { COUNT: '1' });
    await child.waitForOutput('READY', 60_000);
    writeFileSync(go, '');
    await expectExit(child, 0);
  } finally {
    warm.remove();
  }
});

afterEach(async () => {
  await killStrayChildren();
  run?.remove();
  run = undefined;
});
afterAll(async () => {
  for (const schema of schemas) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

async function expectExit(child: RunningChild, code: number, timeoutMs = 90_000): Promise<void> {
  const exit = await child.waitForExit(timeoutMs);
  if (exit.code !== code) throw new Error(`expected exit code ${code}, got ${JSON.stringify(exit)}\n${child.describe()}`);
}

/** Every migration of `own` once in the history and once in its table; nothing of the other instance. */
function expectOnlyOwnMigrations(contents: DatabaseContents, own: InstanceName): void {
  const other = INSTANCE_NAMES.find((name) => name !== own)!;
  expect(contents.history).toEqual(NAMES[own]);
  expect(contents.runs).toEqual(Object.fromEntries(NAMES[own].map((name) => [`${INSTANCES[own].table} ${name}`, 1])));
  expect(contents.tables).not.toContain(INSTANCES[other].table);
}

/** Both instances up to date in the status `child` printed at the end, each with its own history. */
function expectBothUpToDate(child: RunningChild): void {
  const main = instanceStatus(child, 'default');
  // The default instance's document has no name; a named one's says its name.
  expect(main).not.toHaveProperty('database');
  expect(main).toMatchObject({ state: 'up-to-date', pending: [], unknown: [], lastError: null });
  expect(main.applied.map((a: { name: string }) => a.name)).toEqual(NAMES.default);
  const analytics = instanceStatus(child, 'analytics');
  expect(analytics).toMatchObject({ database: 'analytics', state: 'up-to-date', pending: [], unknown: [], lastError: null });
  expect(analytics.applied.map((a: { name: string }) => a.name)).toEqual(NAMES.analytics);
}

describe('8 processes of an app with two databases, released together', () => {
  /**
   * Releases the replicas together and waits until every one has started; then lets them read
   * their status one at a time, once no run holds either lock any more.
   */
  async function releaseTogether(r: TwoInstanceRun): Promise<{ children: RunningChild[]; loadedMs: number; startedMs: number }> {
    const go = r.barrier();
    const spawned = Date.now();
    const statusGates = Array.from({ length: PROCESSES }, () => r.barrier());
    const children = statusGates.map((gate) => r.replica(go, { COUNT: String(COUNT), SLOW, NOTX_AT, STATUS_GO: gate }));
    await Promise.all(children.map((child) => child.waitForOutput('READY', 60_000)));
    const loadedMs = Date.now() - spawned;
    writeFileSync(go, '');
    const released = Date.now();
    await Promise.all(children.map((child) => child.waitForOutput(/^STARTED$/m, 90_000)));
    const startedMs = Date.now() - released;
    for (const [i, child] of children.entries()) {
      writeFileSync(statusGates[i], '');
      await expectExit(child, 0);
    }
    return { children, loadedMs, startedMs };
  }

  async function expectExactlyOncePerInstance(r: TwoInstanceRun, children: RunningChild[], label: string): Promise<void> {
    for (const child of children) {
      expect(child.stdout()).toMatch(/^DONE$/m);
      expect(child.stderr()).not.toMatch(/^ERROR /m);
      expectBothUpToDate(child);
    }

    // Executions, counted outside the databases: each migration started once, under its own instance.
    const executed = executionLog(r.log);
    for (const instance of INSTANCE_NAMES) expect(executed.filter((e) => e.instance === instance).map((e) => e.name)).toEqual(NAMES[instance]);
    expect(executed).toHaveLength(2 * COUNT);

    // Each database: its own history of COUNT rows, one row per migration of its own, none of the other's.
    expectOnlyOwnMigrations(sqliteContents(r.mainDb), 'default');
    expectOnlyOwnMigrations(await analyticsContents(r.analytics), 'analytics');

    // The events agree: across the processes, each instance applied each of its migrations once.
    const summary: string[] = [];
    for (const instance of INSTANCE_NAMES) {
      const applied = children.flatMap((child) =>
        instanceEvents(child, instance)
          .filter((e) => e.type === 'migration-applied')
          .map((e) => e.name),
      );
      expect(applied).toEqual(NAMES[instance]);
      for (const child of children) expect(instanceEvents(child, instance).at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', total: COUNT });
      const waited = children.filter((child) => instanceEvents(child, instance).some((e) => e.type === 'lock-waiting')).length;
      const runners = new Set(executed.filter((e) => e.instance === instance).map((e) => e.pid)).size;
      summary.push(`${instance}: applied by ${runners} process(es), ${waited} waited for its lock`);
    }
    // The starts really overlapped: in each instance some process found the lock taken (a round
    // whose processes happened to reach it one after the other proves nothing).
    for (const instance of INSTANCE_NAMES)
      if (!children.some((child) => instanceEvents(child, instance).some((e) => e.type === 'lock-waiting')))
        throw new Error(`${label}: no process waited for the lock of instance ${instance}\n${children.map((c) => c.describe()).join('\n')}`);
    process.stdout.write(`${label}: ${summary.join('; ')}\n`);
  }

  it('two SQLite files: each instance applied each of its migrations exactly once, into its own file, behind its own lock file', async () => {
    run = twoInstanceRun();
    const { children, loadedMs, startedMs } = await releaseTogether(run);
    await expectExactlyOncePerInstance(run, children, 'two SQLite files');
    // One lock per database, beside it.
    expect(run.analytics.kind === 'sqlite' && lockPathFor(run.analytics.file)).not.toBe(lockPathFor(run.mainDb));
    expect(existsSync(lockPathFor(run.mainDb))).toBe(true);
    expect(run.analytics.kind === 'sqlite' && existsSync(lockPathFor(run.analytics.file))).toBe(true);
    process.stdout.write(`two SQLite files: ${PROCESSES} processes loaded in ${loadedMs} ms; release -> all started ${startedMs} ms\n`);
  });

  it('SQLite default + PostgreSQL analytics: each instance applied each of its migrations exactly once, into its own database', async () => {
    run = twoInstanceRun({ url: pg.url, schema: await freshSchema('replicas') });
    const { children, loadedMs, startedMs } = await releaseTogether(run);
    await expectExactlyOncePerInstance(run, children, 'SQLite + PostgreSQL');
    process.stdout.write(`SQLite + PostgreSQL: ${PROCESSES} processes loaded in ${loadedMs} ms; release -> all started ${startedMs} ms\n`);
  });
});

describe("one instance's lock held elsewhere does not hold up the other instance", () => {
  /**
   * With the analytics lock held by the test, a replica applies every default migration (taking
   * and releasing the default lock) and then waits for the analytics lock; released, it applies
   * the analytics ones.
   */
  async function expectDefaultRunsWhileAnalyticsLocked(r: TwoInstanceRun, unlockAnalytics: () => unknown): Promise<void> {
    const go = r.barrier();
    const child = r.replica(go, { COUNT: String(COUNT) });
    await child.waitForOutput('READY', 60_000);
    writeFileSync(go, '');
    // Either instance waiting ends the wait: a default instance stuck behind the analytics lock fails at once below.
    await child.waitForOutput(/^EVENT (default|analytics) lock-waiting /m, 60_000);

    expect(instanceEvents(child, 'default').map((e) => e.type)).toEqual([
      'lock-acquired',
      'run-started',
      ...NAMES.default.flatMap(() => ['migration-started', 'migration-applied']),
      'lock-released',
      'run-finished',
    ]);
    expect(executionLog(r.log).map((e) => `${e.instance} ${e.name}`)).toEqual(NAMES.default.map((name) => `default ${name}`));
    expectOnlyOwnMigrations(sqliteContents(r.mainDb), 'default');
    expect(child.exited).toBe(false);

    await unlockAnalytics();
    await expectExit(child, 0);
    expectBothUpToDate(child);
    expectOnlyOwnMigrations(await analyticsContents(r.analytics), 'analytics');
    expect(instanceEvents(child, 'analytics').at(-1)).toMatchObject({ type: 'run-finished', outcome: 'up-to-date', applied: COUNT, total: COUNT });
  }

  it('two SQLite files: the analytics lock file held by another process', async () => {
    run = twoInstanceRun();
    if (run.analytics.kind !== 'sqlite') throw new Error('expected a SQLite analytics instance');
    // The module's lock is an open write transaction on the lock file beside the database.
    const holder = new BetterSqlite3(lockPathFor(run.analytics.file), { timeout: 0 });
    try {
      holder.exec('BEGIN IMMEDIATE');
      await expectDefaultRunsWhileAnalyticsLocked(run, () => holder.exec('ROLLBACK'));
    } finally {
      holder.close();
    }
  });

  it('SQLite default + PostgreSQL analytics: the analytics advisory lock held by another session', async () => {
    const schema = await freshSchema('held');
    run = twoInstanceRun({ url: pg.url, schema });
    const { namespace, key } = lockKeyFor(schema);
    const holder = await pg.client();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [namespace, key]);
      await expectDefaultRunsWhileAnalyticsLocked(run, () => holder.query('COMMIT'));
    } finally {
      await holder.end();
    }
  });
});

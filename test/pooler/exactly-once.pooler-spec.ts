/**
 * Exactly once through PgBouncer in transaction pooling mode (pool_size 4): 8 replicas
 * (test/fixtures/pg-replica-app.ts) whose application and migration connections both go through
 * the pooler, so server sessions are shared between their clients; and nothing a run sets on a
 * server session is seen afterwards by another client of the pooler.
 */
import { Client } from 'pg';
import { killStrayChildren, type RunningChild } from '../helpers/child-process';
import { type PgBouncer, startPgBouncer } from '../helpers/pgbouncer';
import { executions, historyNames, lockSessions, migrationNames, ourAdvisoryLocks, type PgReplicaRun, pgReplicaRun, release } from '../helpers/pg-replicas';
import { usePgSchema } from '../helpers/postgres';
import { waitLines } from '../helpers/replica-output';

const POOL_SIZE = 4;

describe('PostgreSQL through PgBouncer (transaction pooling)', () => {
  const pg = usePgSchema('pooler_once');
  let bouncer: PgBouncer;
  let run: PgReplicaRun | undefined;
  beforeAll(async () => (bouncer = await startPgBouncer({ poolSize: POOL_SIZE })));
  afterAll(() => bouncer?.stop());
  afterEach(async () => {
    await killStrayChildren();
    run?.remove();
  });

  it('8 replicas released together with 200 migrations, both connection strings through the pooler: every up() ran once, 200 history rows, no failed process', async () => {
    run = pgReplicaRun(bouncer.url, pg.schema);
    const go = run.barrier();
    const replicas: RunningChild[] = Array.from({ length: 8 }, () => run!.replica(go, { COUNT: '200', MIGRATION_PG_URL: bouncer.url }));
    await release(go, replicas);
    const exits = await Promise.all(replicas.map((replica) => replica.waitForExit(240_000)));
    const failed = replicas.filter((_, i) => exits[i].code !== 0);
    expect(failed.map((c) => c.describe())).toEqual([]);

    const counts = executions(run.log);
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...counts.keys()].sort()).toEqual(migrationNames(200));
    expect(await historyNames(pg.url, pg.schema)).toEqual(migrationNames(200));
    expect(replicas.some((c) => waitLines(c).length > 0)).toBe(true);
    expect(await ourAdvisoryLocks(pg.url)).toEqual([]);
    expect(await lockSessions(pg.url)).toEqual([]);

    // Every server session of the pool, each held by a client in a transaction of its own: none kept a setting of the runs.
    const clients: Client[] = [];
    try {
      for (let i = 0; i < POOL_SIZE; i++) {
        const client = new Client({ connectionString: bouncer.url });
        await client.connect();
        clients.push(client);
      }
      const seen: { pid: number; search_path: string; lock_timeout: string; statement_timeout: string; idle: string }[] = [];
      for (const client of clients) {
        await client.query('BEGIN');
        const settings = await client.query<(typeof seen)[number]>(
          `SELECT pg_backend_pid() AS pid, current_setting('search_path') AS search_path, current_setting('lock_timeout') AS lock_timeout,
  current_setting('statement_timeout') AS statement_timeout, current_setting('idle_in_transaction_session_timeout') AS idle`,
        );
        seen.push(settings.rows[0]);
      }
      expect(new Set(seen.map((s) => s.pid)).size).toBe(POOL_SIZE);
      const defaults = { search_path: '"$user", public', lock_timeout: '0', statement_timeout: '0', idle: '0' };
      expect(seen.map(({ pid: _pid, ...settings }) => settings)).toEqual(Array(POOL_SIZE).fill(defaults));
    } finally {
      await Promise.all(clients.map((c) => c.query('ROLLBACK').then(() => c.end())));
    }
  }, 300_000);
});

/**
 * PgBouncer in transaction pooling mode in front of the test server (test/helpers/pgbouncer.ts):
 * what the PostgreSQL driver's lock relies on through a pooler, and what it must not rely on.
 */
import { type Client } from 'pg';
import { type PgBouncer, startPgBouncer } from '../helpers/pgbouncer';
import { usePgSchema, withPgClient } from '../helpers/postgres';

describe('PgBouncer (transaction pooling) in front of the test server', () => {
  const pg = usePgSchema('pooler');
  let bouncer: PgBouncer;
  beforeAll(async () => (bouncer = await startPgBouncer({ poolSize: 4 })));
  afterAll(() => bouncer?.stop());

  const backendPid = async (client: Client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

  it('passes queries to the test server', async () => {
    const port = await withPgClient(bouncer.url, async (c) => (await c.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0].port);
    expect(port).toBe(Number(new URL(pg.url).port));
  });

  it('keeps a transaction-scoped advisory lock on one server session: a second client is refused it until the holder commits', async () => {
    await withPgClient(bouncer.url, (holder) =>
      withPgClient(bouncer.url, async (other) => {
        const tryLock = async (client: Client) => (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(1, 2) AS ok')).rows[0].ok;
        await holder.query('BEGIN');
        expect(await tryLock(holder)).toBe(true);
        await other.query('BEGIN');
        expect(await tryLock(other)).toBe(false);
        await other.query('ROLLBACK');
        await holder.query('COMMIT');
        expect(await tryLock(other)).toBe(true);
      }),
    );
  });

  it('shares a server session between clients: a session-level SET made by one client is seen by the next (so the driver may only use SET LOCAL)', async () => {
    const single = await startPgBouncer({ poolSize: 1 });
    try {
      await withPgClient(single.url, async (first) => {
        await first.query("SET statement_timeout = '1234ms'");
        await withPgClient(single.url, async (second) => {
          expect(await backendPid(second)).toBe(await backendPid(first));
          expect((await second.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout).toBe('1234ms');
        });
      });
    } finally {
      await single.stop();
    }
  });
});

/**
 * The test run's PostgreSQL server (test/global-setup.js: embedded, or PG_TEST_URL): a real
 * PostgreSQL, a schema per file, advisory locks that exclude across sessions, and the same server
 * for the processes the tests spawn.
 */
import { join } from 'node:path';
import { killStrayChildren, spawnTs } from '../helpers/child-process';
import { pgDatabase, usePgSchema, withPgClient } from '../helpers/postgres';

const PG_CHILD = join(__dirname, '..', 'fixtures', 'pg-child.ts');

describe('PostgreSQL test server', () => {
  const pg = usePgSchema('server');
  const db = pgDatabase('server');
  afterEach(() => killStrayChildren());

  it('is a real PostgreSQL server', async () => {
    const { rows } = await pg.query<{ version: string }>('SELECT version()');
    expect(rows[0].version).toMatch(/^PostgreSQL \d+/);
  });

  it('gives the file a schema of its own, the search_path of its clients', async () => {
    await pg.query('CREATE TABLE notes (id int PRIMARY KEY)');
    const { rows } = await pg.query<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'notes'");
    expect(rows).toEqual([{ schema: pg.schema }]);
  });

  it('makes pg_try_advisory_xact_lock(1, 2) exclusive between two sessions until the holder commits', async () => {
    const holder = await pg.client();
    const other = await pg.client();
    const tryLock = async (client: typeof holder) => (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(1, 2) AS ok')).rows[0].ok;
    await holder.query('BEGIN');
    await other.query('BEGIN');
    expect(await tryLock(holder)).toBe(true);
    expect(await tryLock(other)).toBe(false);
    await holder.query('COMMIT');
    expect(await tryLock(other)).toBe(true);
    await other.query('COMMIT');
    await Promise.all([holder.end(), other.end()]);
  });

  it('is the server a spawned child process reaches through the inherited PG_TEST_URL', async () => {
    await pg.query('CREATE TABLE items (id int)');
    await pg.query('INSERT INTO items VALUES (1), (2), (3)');
    const child = spawnTs(PG_CHILD, { env: { SCHEMA: pg.schema } });
    const exit = await child.waitForExit(30_000);
    expect({ exit, stderr: child.stderr() }).toEqual({ exit: { code: 0, signal: null }, stderr: '' });
    const { rows } = await pg.query<{ port: number }>('SELECT inet_server_port() AS port');
    expect(JSON.parse(child.stdout())).toEqual({ port: rows[0].port, items: 3 });
  });

  it('gives a file a fresh database of its own on request', async () => {
    const name = await withPgClient(db.url, async (c) => (await c.query<{ name: string }>('SELECT current_database() AS name')).rows[0].name);
    expect(name).toBe(db.database);
  });
});

import { randomBytes } from 'node:crypto';
import { Client, type QueryResult, type QueryResultRow } from 'pg';

/** The test run's PostgreSQL server (started or checked by test/global-setup.js); throws when there is none. */
export function pgTestUrl(): string {
  const url = process.env.PG_TEST_URL;
  if (!url)
    throw new Error(
      'PG_TEST_URL is not set: this run started no PostgreSQL server. Run the tests through Jest with the repository config (`npm test`, `npx jest <file>`), whose global set-up starts one.',
    );
  return url;
}

/** `url` with another database. */
export function pgUrlWithDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs `fn` with a client connected to `url`, closed after it. */
export async function withPgClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A unique lower-case name `<kind>_<prefix>_<random>`, safe as an unquoted identifier. */
function uniqueName(kind: string, prefix: string): string {
  if (!/^[a-z0-9_]+$/.test(prefix)) throw new Error(`PostgreSQL test prefix "${prefix}" must be lower-case letters, digits and underscores`);
  return `${kind}_${prefix}_${randomBytes(4).toString('hex')}`;
}

export interface PgSchema {
  readonly url: string;
  readonly schema: string;
  /** A connected client whose search_path is the schema; ended in afterAll if the test has not ended it. */
  client(): Promise<Client>;
  /** One statement on a client of its own (search_path: the schema). */
  query<R extends QueryResultRow = any>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * A schema of its own for the calling test file (`t_<prefix>_<random>` on the run's server), created
 * in beforeAll and dropped with everything in it in afterAll. Read `url` and `schema` inside tests.
 */
export function usePgSchema(prefix = 'test'): PgSchema {
  const schema = uniqueName('t', prefix);
  const clients = new Set<Client>();
  const connect = async () => {
    const client = new Client({ connectionString: pgTestUrl(), options: `-c search_path=${schema}` });
    await client.connect();
    return client;
  };
  beforeAll(() => withPgClient(pgTestUrl(), (c) => c.query(`CREATE SCHEMA ${schema}`)));
  afterAll(async () => {
    await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
    await withPgClient(pgTestUrl(), (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });
  return {
    get url() {
      return pgTestUrl();
    },
    schema,
    async client() {
      const client = await connect();
      clients.add(client);
      client.on('end', () => clients.delete(client));
      return client;
    },
    async query<R extends QueryResultRow = any>(sql: string, params?: unknown[]) {
      const client = await connect();
      try {
        return await client.query<R>(sql, params);
      } finally {
        await client.end();
      }
    },
  };
}

export interface PgDatabase {
  readonly url: string;
  readonly database: string;
}

/**
 * A fresh database for the calling test file (`d_<prefix>_<random>`, from template0), for tests that
 * need database-level state; dropped in afterAll, even with sessions still open.
 */
export function pgDatabase(prefix = 'test'): PgDatabase {
  const database = uniqueName('d', prefix);
  beforeAll(() => withPgClient(pgTestUrl(), (c) => c.query(`CREATE DATABASE ${database} TEMPLATE template0`)));
  afterAll(() => withPgClient(pgTestUrl(), (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)));
  return {
    get url() {
      return pgUrlWithDatabase(pgTestUrl(), database);
    },
    database,
  };
}

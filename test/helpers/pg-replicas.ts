import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, type RunningChild, spawnTs } from './child-process';
import { withPgClient } from './postgres';
import { execLog, migrationName } from './replica-output';
import { tempDir } from './temp-dir';

/*
 * Running test/fixtures/pg-replica-app.ts processes on a schema of the test server, and reading
 * what they left: the execution log, the history table, the server's locks and sessions.
 */

export const PG_REPLICA_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'pg-replica-app.ts');

/** What a test's replicas share: a folder with the execution log, the server and the schema. */
export interface PgReplicaRun {
  readonly schema: string;
  readonly log: string;
  /** A replica stopped at the barrier until `go` exists (a file path; `release(go)` creates it). */
  replica(go: string, env?: Record<string, string>): RunningChild;
  /** A fresh barrier file name. */
  barrier(): string;
  remove(): void;
}

/** A folder for one test's execution log and barriers; replicas reach `url` (schema `schema`) unless their env says otherwise. */
export function pgReplicaRun(url: string, schema: string): PgReplicaRun {
  const dir = tempDir('auto-migration-pg-replicas-');
  const log = dir.file('exec.log');
  writeFileSync(log, '');
  let barriers = 0;
  return {
    schema,
    log,
    replica: (go, env = {}) => spawnTs(PG_REPLICA_FIXTURE, { env: { PG_URL: url, SCHEMA: schema, EXEC_LOG: log, GO_FILE: go, ...env } }),
    barrier: () => dir.file(`go-${++barriers}`),
    remove: () => dir.remove(),
  };
}

/** Waits until every child printed READY (loaded, waiting at the barrier), then creates `go`. */
export async function release(go: string, children: RunningChild[], timeoutMs = 60_000): Promise<void> {
  await Promise.all(children.map((c) => c.waitForOutput('READY', timeoutMs)));
  writeFileSync(go, '');
}

/** Names of the fixture's first `count` migrations. */
export function migrationNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => migrationName(i + 1));
}

/** The history rows of `schema`, in the order applied. */
export async function historyNames(url: string, schema: string): Promise<string[]> {
  return withPgClient(url, async (c) => (await c.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name));
}

/** How many times each migration's up() started, by the execution log. */
export function executions(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { name } of execLog(log)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** The module's advisory locks (two-integer key space, `objsubid = 2`) the server holds or is asked for. */
export async function ourAdvisoryLocks(url: string): Promise<{ pid: number; granted: boolean }[]> {
  return withPgClient(
    url,
    async (c) => (await c.query<{ pid: number; granted: boolean }>(`SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2`)).rows,
  );
}

/** Backends of the module's lock sessions (`application_name` `nam-lock <pid> <instance> <host>`). */
export async function lockSessions(url: string): Promise<{ pid: number; name: string }[]> {
  return withPgClient(
    url,
    async (c) =>
      (await c.query<{ pid: number; name: string }>(`SELECT pid, application_name AS name FROM pg_stat_activity WHERE application_name LIKE 'nam-lock %'`))
        .rows,
  );
}

/** Polls `check` every `everyMs` until it is true; throws `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

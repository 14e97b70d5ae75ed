import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type RunningChild, spawnTs } from './child-process';
import { withPgClient } from './postgres';
import { inspect } from './sqlite';
import { tempDir } from './temp-dir';

/*
 * Running test/fixtures/two-instance-replica-app.ts processes (an app with a default instance on
 * SQLite and an instance "analytics" on SQLite or PostgreSQL), and reading what they printed and
 * what they left in the execution log and in both databases.
 */

export const TWO_INSTANCE_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'two-instance-replica-app.ts');

/** The fixture's instances, with the prefix of their migrations' names and the table their migrations write. */
export const INSTANCES = {
  default: { prefix: 'main', table: 'main_runs' },
  analytics: { prefix: 'analytics', table: 'analytics_runs' },
} as const;
export type InstanceName = keyof typeof INSTANCES;

/** Names of an instance's first `count` migrations, in order. */
export function instanceMigrationNames(instance: InstanceName, count: number): string[] {
  const { prefix } = INSTANCES[instance];
  return Array.from({ length: count }, (_, i) => {
    const p = String(i + 1).padStart(3, '0');
    return `${p}_${prefix}_${p}`;
  });
}

/** Where the analytics instance lives: a second SQLite file, or a PostgreSQL schema. */
export type AnalyticsTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string };

/** What one test's replicas share: the default instance's file, the analytics target, the execution log. */
export interface TwoInstanceRun {
  readonly mainDb: string;
  readonly analytics: AnalyticsTarget;
  readonly log: string;
  /** A replica stopped at the barrier until `go` exists (a file path; `release(go)` creates it). */
  replica(go: string, env?: Record<string, string>): RunningChild;
  /** A fresh barrier file name. */
  barrier(): string;
  remove(): void;
}

/** A folder with the default instance's database file, the execution log and the barriers; "analytics" on a file there or on `postgres`. */
export function twoInstanceRun(postgres?: { url: string; schema: string }): TwoInstanceRun {
  const dir = tempDir('auto-migration-two-instances-');
  const log = dir.file('exec.log');
  writeFileSync(log, '');
  const mainDb = dir.file('main.db');
  const analytics: AnalyticsTarget = postgres ? { kind: 'postgres', ...postgres } : { kind: 'sqlite', file: dir.file('analytics.db') };
  const analyticsEnv = analytics.kind === 'sqlite' ? { ANALYTICS_DB: analytics.file } : { ANALYTICS_PG_URL: analytics.url, ANALYTICS_SCHEMA: analytics.schema };
  let barriers = 0;
  return {
    mainDb,
    analytics,
    log,
    // NO_COLOR: Nest's log as plain lines.
    replica: (go, env = {}) =>
      spawnTs(TWO_INSTANCE_FIXTURE, { env: { DEFAULT_DB: mainDb, ...analyticsEnv, EXEC_LOG: log, GO_FILE: go, NO_COLOR: '1', ...env } }),
    barrier: () => dir.file(`go-${++barriers}`),
    remove: () => dir.remove(),
  };
}

export interface InstanceEvent {
  type: string;
  [key: string]: any;
}

/** The events of one instance a replica printed (`EVENT <instance> <type> <json>`), in order. */
export function instanceEvents(child: RunningChild, instance: InstanceName): InstanceEvent[] {
  const prefix = `EVENT ${instance} `;
  return child
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as InstanceEvent);
}

/** The final status of one instance a replica printed (`STATUS <instance> <json>`). */
export function instanceStatus(child: RunningChild, instance: InstanceName): any {
  const prefix = `STATUS ${instance} `;
  const found = child
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${prefix.trim()} line\n${child.describe()}`);
  return JSON.parse(found[0].slice(prefix.length));
}

/** `<pid> <instance> <name>` lines the migrations wrote as they started, in order. */
export function executionLog(file: string): { pid: number; instance: string; name: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, instance, name] = l.split(' ');
      return { pid: Number(pid), instance, name };
    });
}

/** What a database holds: its tables, its history in order, and how many rows each migration left in each `*_runs` table. */
export interface DatabaseContents {
  tables: string[];
  history: string[];
  /** `<table> <migration name>` -> rows. */
  runs: Record<string, number>;
}

const RUNS_TABLES = Object.values(INSTANCES).map((i) => i.table);

/** The contents of a SQLite file, read-only. */
export function sqliteContents(file: string): DatabaseContents {
  return inspect(file, (db) => {
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
    ).map((r) => r.name);
    const history = (db.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name);
    const runs: Record<string, number> = {};
    for (const table of RUNS_TABLES.filter((t) => tables.includes(t)))
      for (const row of db.prepare(`SELECT name, COUNT(*) AS n FROM ${table} GROUP BY name`).all() as { name: string; n: number }[])
        runs[`${table} ${row.name}`] = row.n;
    return { tables, history, runs };
  });
}

/** The contents of a PostgreSQL schema. */
export function pgContents(url: string, schema: string): Promise<DatabaseContents> {
  return withPgClient(url, async (c) => {
    const tables = (
      await c.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema])
    ).rows.map((r) => r.name);
    const history = (await c.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name);
    const runs: Record<string, number> = {};
    for (const table of RUNS_TABLES.filter((t) => tables.includes(t)))
      for (const row of (await c.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM ${schema}.${table} GROUP BY name`)).rows)
        runs[`${table} ${row.name}`] = row.n;
    return { tables, history, runs };
  });
}

/** The contents of the analytics instance's database, wherever it is. */
export function analyticsContents(target: AnalyticsTarget): Promise<DatabaseContents> {
  return target.kind === 'sqlite' ? Promise.resolve(sqliteContents(target.file)) : pgContents(target.url, target.schema);
}

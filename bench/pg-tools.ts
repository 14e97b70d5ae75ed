/**
 * The tools on PostgreSQL (tools.ts lists them, as PG_TOOLS): how each is built and what a run left
 * in its schema. Loaded only by processes that run a PostgreSQL tool, so SQLite's processes load
 * no `pg`. Each `migrate(schema)` migrates that schema of the bench's server (BENCH_PG_URL).
 */
import { benchPgUrl, freshSchema, withPg } from './pg-server';
import { pgMigrationClasses } from './pg-migrations';
import type { UpHook } from './shared';
import { PG_HISTORY_TABLES, type Migrator, type PeerModules, type PgTool } from './tools';

/**
 * The module and its Nest app, with the PostgreSQL driver loaded before any clock starts (as the
 * module's other files are; see nest-app.ts for SQLite's).
 */
export async function loadPgModule() {
  await import('../src/auto-migration/driver/postgres/pg-database-driver');
  const { bootApp, decoratedMigrations } = await import('./nest-app');
  return {
    bootApp,
    /** `n` decorated PostgreSQL migration classes. */
    migrations: (n: number, onUp?: UpHook) => decoratedMigrations(n, onUp, pgMigrationClasses),
    /** The module's options for `schema` of the bench's server. */
    database: (schema: string, transactionMode: 'each' | 'all') => ({ postgres: { connectionString: benchPgUrl(), schema }, transactionMode }),
  };
}

/** Builds the tool's `n` migrations once (as an app defines them once), ready to run on any schema. */
export async function loadPgTool(tool: PgTool, n: number, onUp?: UpHook): Promise<Migrator> {
  switch (tool) {
    case 'pg-module':
    case 'pg-module-all': {
      const { bootApp, migrations, database } = await loadPgModule();
      const types = migrations(n, onUp);
      const transactionMode = tool === 'pg-module' ? 'each' : 'all';
      return { migrate: async (schema) => (await bootApp(types, database(schema, transactionMode))).close() };
    }
    case 'pg-node-pg-migrate-each':
    case 'pg-node-pg-migrate-all':
      return (await loadPeer('node-pg-migrate')).nodePgMigrateMigrator(n, tool.endsWith('-each') ? 'each' : 'all', onUp);
    case 'pg-knex-each':
    case 'pg-knex-all':
      return (await loadPeer('knex')).knexPgMigrator(n, tool.endsWith('-each') ? 'each' : 'all', onUp);
    case 'pg-typeorm-each':
    case 'pg-typeorm-all':
      return (await loadPeer('typeorm')).typeormPgMigrator(n, tool.endsWith('-each') ? 'each' : 'all', onUp);
  }
}

/** See tools.ts's loadPeer: a computed path, so the root typecheck does not follow it into bench/node_modules. */
async function loadPeer<K extends keyof PeerModules>(name: K): Promise<PeerModules[K]> {
  const specifier = `./peers/${name}`;
  return (await import(specifier)) as PeerModules[K];
}

/** A fresh schema for one run of a tool (see freshSchema). */
export const newPgTarget = (label: string) => freshSchema(label).then(({ schema, drop }) => ({ target: schema, remove: drop }));

/**
 * What runs left in a schema: rows of the tool's history, migration tables (t1..tn), and notes on
 * the tool's bookkeeping: Knex keeps exactly one row in `knex_migrations_lock`, unlocked between
 * runs; no advisory lock outlives its session.
 */
export function pgAppliedState(schema: string, tool: PgTool): Promise<{ historyRows: number; tables: number; notes: string[] }> {
  return withPg(async (client) => {
    const get = async (sql: string, ...params: unknown[]) => (await client.query<Record<string, number>>(sql, params)).rows[0];
    const exists = async (table: string) =>
      (await get('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = $2', schema, table)).n > 0;
    const notes: string[] = [];
    if (tool.startsWith('pg-knex') && (await exists('knex_migrations_lock'))) {
      const { rows, locked } = await get(`SELECT count(*)::int AS rows, max(is_locked)::int AS locked FROM ${schema}.knex_migrations_lock`);
      if (rows !== 1 || locked !== 0) notes.push(`knex_migrations_lock holds ${rows} row(s), is_locked = ${locked}`);
    }
    const advisory = (await get("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'")).n;
    if (advisory > 0) notes.push(`${advisory} advisory lock(s) still held after the run`);
    const history = PG_HISTORY_TABLES[tool];
    return {
      historyRows: (await exists(history)) ? (await get(`SELECT count(*)::int AS n FROM ${schema}.${history}`)).n : 0,
      tables: (await get("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename ~ '^t[0-9]+$'", schema)).n,
      notes,
    };
  });
}

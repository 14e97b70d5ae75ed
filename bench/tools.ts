/**
 * The tools a workload can run the migrations with: the module (a Nest app context with
 * AutoMigrationModule) and the peers (bench/peers/), each behind the call an app makes at every
 * start, on SQLite (TOOLS) and on PostgreSQL (PG_TOOLS, built by pg-tools.ts). Each is loaded on
 * demand, so a process carries only the tool it measures.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { errorLine, type UpHook } from './shared';

/**
 * Peers as an app would set them up for SQLite, each idiomatic for its tool. `each` = one
 * transaction per migration, `all` = one for the whole batch. Umzug only in per-migration form
 * (it runs no transactions itself); with its FileLocker only where processes compete (W3, W4).
 */
export const PEER_VARIANTS = ['umzug', 'umzug-filelocker', 'knex-each', 'knex-all', 'typeorm-each', 'typeorm-all'] as const;
export type PeerVariant = (typeof PEER_VARIANTS)[number];
/** The module in its default `transactionMode: 'each'` and in `'all'`, then every peer. */
export const TOOLS = ['module', 'module-all', ...PEER_VARIANTS] as const;
export type Tool = (typeof TOOLS)[number];

export const TOOL_LABELS: Record<Tool, string> = {
  module: "module, transactionMode 'each' (default)",
  'module-all': "module, transactionMode 'all'",
  umzug: 'Umzug, one transaction per migration',
  'umzug-filelocker': 'Umzug + its FileLocker',
  'knex-each': 'Knex, a transaction per migration',
  'knex-all': 'Knex default (one transaction for the batch)',
  'typeorm-each': "TypeORM, migrationsTransactionMode 'each'",
  'typeorm-all': "TypeORM default ('all')",
};

/**
 * On PostgreSQL (the bench's server, BENCH_PG_URL), each in a schema of its own, as an app would set
 * it up: the module in `transactionMode` 'each' and 'all'; node-pg-migrate's `runner()`, per
 * migration (its default) and `singleTransaction`; Knex's 'pg' client and TypeORM's 'postgres'
 * driver in their two modes, as on SQLite.
 */
export const PG_TOOLS = [
  'pg-module',
  'pg-module-all',
  'pg-node-pg-migrate-each',
  'pg-node-pg-migrate-all',
  'pg-knex-each',
  'pg-knex-all',
  'pg-typeorm-each',
  'pg-typeorm-all',
] as const;
export type PgTool = (typeof PG_TOOLS)[number];
export type AnyTool = Tool | PgTool;
export const isPgTool = (tool: string): tool is PgTool => (PG_TOOLS as readonly string[]).includes(tool);
/** Whether `tool` is the module (SQLite or PostgreSQL, either mode), not a peer. */
export const isModule = (tool: string) => tool.startsWith('module') || tool.startsWith('pg-module');

export const PG_TOOL_LABELS: Record<PgTool, string> = {
  'pg-module': "module, transactionMode 'each' (default)",
  'pg-module-all': "module, transactionMode 'all'",
  'pg-node-pg-migrate-each': 'node-pg-migrate, a transaction per migration (default)',
  'pg-node-pg-migrate-all': 'node-pg-migrate, singleTransaction',
  'pg-knex-each': 'Knex, a transaction per migration',
  'pg-knex-all': 'Knex default (one transaction for the batch)',
  'pg-typeorm-each': "TypeORM, migrationsTransactionMode 'each'",
  'pg-typeorm-all': "TypeORM default ('all')",
};

/** Each PostgreSQL tool's history table, in the run's schema. */
export const PG_HISTORY_TABLES: Record<PgTool, string> = {
  'pg-module': 'migrations',
  'pg-module-all': 'migrations',
  'pg-node-pg-migrate-each': 'pgmigrations',
  'pg-node-pg-migrate-all': 'pgmigrations',
  'pg-knex-each': 'knex_migrations',
  'pg-knex-all': 'knex_migrations',
  'pg-typeorm-each': 'migrations',
  'pg-typeorm-all': 'migrations',
};

export interface Migrator {
  /** Opens `target` (a SQLite file, or a PostgreSQL schema), applies every pending migration, closes: what the app runs at every start. */
  migrate(target: string): Promise<void>;
}

/** Runs `migrator` on `file`; a failure is a result to report (its first line), not a crash of the workload. */
export async function migrateReportingError(migrator: Migrator, file: string): Promise<string | undefined> {
  try {
    await migrator.migrate(file);
    return undefined;
  } catch (caught) {
    return errorLine(caught);
  }
}

/** Each tool's history table, for the checks that a run really applied the migrations. */
export const HISTORY_TABLES: Record<Tool, string> = {
  module: 'migrations',
  'module-all': 'migrations',
  umzug: 'umzug_migrations',
  'umzug-filelocker': 'umzug_migrations',
  'knex-each': 'knex_migrations',
  'knex-all': 'knex_migrations',
  'typeorm-each': 'migrations',
  'typeorm-all': 'migrations',
};

/** Builds the tool's `n` migrations once (as an app defines them once), ready to run on any file (or schema). */
export async function loadTool(tool: AnyTool, n: number, onUp?: UpHook): Promise<Migrator> {
  if (isPgTool(tool)) return (await import('./pg-tools')).loadPgTool(tool, n, onUp);
  switch (tool) {
    case 'module':
    case 'module-all': {
      const { bootApp, decoratedMigrations } = await import('./nest-app');
      const types = decoratedMigrations(n, onUp);
      const transactionMode = tool === 'module' ? 'each' : 'all';
      return { migrate: async (file) => (await bootApp(types, { file, transactionMode })).close() };
    }
    case 'umzug':
    case 'umzug-filelocker':
      return (await loadPeer('umzug')).umzugMigrator(n, { fileLocker: tool === 'umzug-filelocker' }, onUp);
    case 'knex-each':
    case 'knex-all':
      return (await loadPeer('knex')).knexMigrator(n, tool === 'knex-each' ? 'each' : 'all', onUp);
    case 'typeorm-each':
    case 'typeorm-all':
      return (await loadPeer('typeorm')).typeormMigrator(n, tool === 'typeorm-each' ? 'each' : 'all', onUp);
  }
}

/**
 * What each bench/peers/ module exports. The peers import packages that only bench/node_modules
 * has, so the root typecheck must not reach them: they are loaded through a computed path (which
 * TypeScript does not follow) and typed here; bench/peers/contract.ts, compiled by
 * bench/tsconfig.json, fails there if a peer's exports drift from these types.
 */
export interface PeerModules {
  umzug: { umzugMigrator(n: number, options: { fileLocker: boolean }, onUp?: UpHook): Migrator };
  knex: { knexMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator; knexPgMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator };
  typeorm: {
    typeormMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator;
    typeormPgMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator;
  };
  'node-pg-migrate': { nodePgMigrateMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Promise<Migrator> };
}

async function loadPeer<K extends keyof PeerModules>(name: K): Promise<PeerModules[K]> {
  const specifier = `./peers/${name}`;
  return (await import(specifier)) as PeerModules[K];
}

/**
 * Where one run of `tool` migrates, new and empty: a file `<name>.db` in `dir` (nothing to remove
 * but the folder), or a fresh schema on PostgreSQL, dropped by `remove`.
 */
export async function newTarget(tool: AnyTool, dir: string, name: string): Promise<{ target: string; remove: () => Promise<void> }> {
  if (isPgTool(tool)) return (await import('./pg-tools')).newPgTarget(name);
  return { target: join(dir, `${name}.db`), remove: () => Promise.resolve() };
}

/**
 * What runs left in a file: rows of the tool's history, migration tables (t1..tn), and notes on
 * the tool's own bookkeeping: Knex keeps exactly one row in `knex_migrations_lock`, unlocked
 * between runs. On PostgreSQL, the same of a schema (pg-tools.ts).
 */
export async function appliedState(file: string, tool: AnyTool): Promise<{ historyRows: number; tables: number; notes: string[] }> {
  if (isPgTool(tool)) return (await import('./pg-tools')).pgAppliedState(file, tool);
  if (!existsSync(file)) return { historyRows: 0, tables: 0, notes: [] };
  // Read-write: a journal left by a killed process is rolled back, not refused.
  const db = new BetterSqlite3(file);
  try {
    const get = (sql: string, ...params: string[]) => db.prepare(sql).get(...params) as Record<string, number>;
    const exists = (table: string) => get("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", table).n > 0;
    const notes: string[] = [];
    if (tool.startsWith('knex') && exists('knex_migrations_lock')) {
      const { rows, locked } = get('SELECT count(*) AS rows, max(is_locked) AS locked FROM knex_migrations_lock');
      if (rows !== 1 || locked !== 0) notes.push(`knex_migrations_lock holds ${rows} row(s), is_locked = ${locked}`);
    }
    return {
      historyRows: exists(HISTORY_TABLES[tool]) ? get(`SELECT count(*) AS n FROM ${HISTORY_TABLES[tool]}`).n : 0,
      tables: get("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*'").n,
      notes,
    };
  } finally {
    db.close();
  }
}

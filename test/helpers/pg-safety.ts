import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { AutoMigrationService, type PostgresAutoMigrationModuleOptions, type RuleId, type SafetyReport } from '../../src/auto-migration';
import { bootApp } from './boot';
import { pgMigration } from './pg-migrations';
import type { PgSchema } from './postgres';

/*
 * The PostgreSQL safety-analysis tests' furniture: an applied migration that creates tables in use
 * (with rows the rules count), the pending change written as a class or as a `.sql` file of the
 * same statements, `lint()` as the command-line tool calls it, and a fingerprint of the live schema.
 */

/**
 * users: 6 rows, 2 with a NULL name, 3 named 'ada' (2 duplicates), every email distinct, every
 * org_id an org's or NULL; an index on name. orgs: 3 rows, a varchar(20) label.
 */
export const PG_BASE_SQL = `CREATE TABLE orgs (id int PRIMARY KEY, label varchar(20));
INSERT INTO orgs VALUES (1, 'acme'), (2, 'globex'), (3, 'initech');
CREATE TABLE users (id serial PRIMARY KEY, email text, name text, org_id int);
INSERT INTO users (email, name, org_id) VALUES
  ('ada@example.com', 'ada', 1), ('grace@example.com', NULL, 1), ('lovelace@example.com', 'ada', 2),
  ('edsger@example.com', NULL, 2), ('byron@example.com', 'ada', 3), ('hopper@example.com', 'grace', NULL);
CREATE INDEX users_name ON users (name);`;

export const PG_USERS = 6;
export const PG_NULL_NAMES = 2;
export const PG_DUPLICATE_NAMES = 2;
export const PG_ORGS = 3;

/** The applied migration every test starts from. */
export const pgBase = (): Type<unknown> => pgMigration('001_base', PG_BASE_SQL);

/** How the pending change is written. */
export type PgForm = 'class' | 'sql';
export const PG_FORMS: readonly PgForm[] = ['class', 'sql'];

export interface PendingOptions {
  readonly allow?: readonly RuleId[];
  /** false: `transaction: false` in the class, `-- transaction: false` in the file. */
  readonly transaction?: boolean;
}

/**
 * The pending migration `name`: a class whose `up()` sends each statement in a `query()` call of
 * its own (as hand-written code does), or `<dir>/<name>.sql` holding the same statements (returns
 * no class then). Either way the rehearsal captures each statement with the same text.
 */
export function pgPending(form: PgForm, dir: string, name: string, statements: readonly string[], options: PendingOptions = {}): Type<unknown>[] {
  const { allow = [], transaction = true } = options;
  if (form === 'class') {
    const up = async (db: PoolClient) => {
      for (const statement of statements) await db.query(statement);
    };
    return [pgMigration(name, up, { version: '1.1.0', allow: [...allow], ...(!transaction && { transaction: false }) })];
  }
  const header = ['-- version: 1.1.0', ...(transaction ? [] : ['-- transaction: false']), ...(allow.length > 0 ? [`-- allow: ${allow.join(', ')}`] : [])];
  writeFileSync(join(dir, `${name}.sql`), `${header.join('\n')}\n${statements.map((s) => `${s};`).join('\n')}\n`);
  return [];
}

/** An empty folder of `.sql` migrations under `parent`. */
export function sqlFolder(parent: string): string {
  return mkdtempSync(join(parent, 'migrations-'));
}

/**
 * Boots as the command-line tool does (nothing runs at bootstrap), calls `lint()` while the app is
 * open (`after` runs once it returned, the app still open), closes.
 */
export async function pgLint(
  options: Partial<PostgresAutoMigrationModuleOptions>,
  migrations: Type<unknown>[],
  { longLockMs, after }: { longLockMs?: number; after?: () => Promise<void> } = {},
): Promise<SafetyReport> {
  const flag = Symbol.for('nestjs-auto-migration.cli');
  (globalThis as Record<symbol, unknown>)[flag] = true;
  const { app } = await bootApp(options as never, { migrations }).finally(() => delete (globalThis as Record<symbol, unknown>)[flag]);
  try {
    const report = await app.get(AutoMigrationService).lint(longLockMs === undefined ? {} : { longLockMs });
    await after?.();
    return report;
  } finally {
    await app.close();
  }
}

/*
 * What the live schema holds, for "the rehearsal changed nothing": every relation with its kind
 * and storage (a rewrite that was kept gives a new relfilenode), columns, indexes, constraints
 * with their validation, sequences' positions, triggers, and every table's rows (the module's
 * history and lease included), each row as text, in order.
 */
const CATALOG = `
SELECT 'relation' AS kind, c.relname || ' ' || c.relkind::text || ' ' || c.relfilenode AS item
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
UNION ALL
SELECT 'column', c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || COALESCE(pg_get_expr(d.adbin, d.adrelid), '-')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
UNION ALL
SELECT 'constraint', c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) || ' ' || k.convalidated
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
UNION ALL
SELECT 'sequence', sequencename || ' ' || COALESCE(last_value::text, 'unused') FROM pg_sequences WHERE schemaname = $1
UNION ALL
SELECT 'trigger', g.tgname || ' ' || c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND NOT g.tgisinternal
ORDER BY 1, 2`;

export interface PgFingerprint {
  readonly catalog: string[];
  /** Table → its rows as text, sorted. */
  readonly rows: Record<string, string[]>;
}

/** The live schema's catalog and data, read on a connection of its own. */
export async function pgFingerprint(pg: PgSchema, schema: string): Promise<PgFingerprint> {
  const catalog = (await pg.query<{ kind: string; item: string }>(CATALOG, [schema])).rows.map((r) => `${r.kind}: ${r.item}`);
  const tables = (await pg.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])).rows.map((r) => r.t);
  const rows: Record<string, string[]> = {};
  for (const table of tables) {
    const { rows: found } = await pg.query<{ r: string }>(`SELECT t::text AS r FROM ${schema}."${table}" AS t ORDER BY 1`);
    rows[table] = found.map((r) => r.r);
  }
  return { catalog, rows };
}

/** The names in the schema's migration history, in the order they were applied. */
export async function pgHistory(pg: PgSchema, schema: string): Promise<string[]> {
  return (await pg.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name);
}

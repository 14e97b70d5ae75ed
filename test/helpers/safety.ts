import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { type AutoMigrationModuleOptions, AutoMigrationService, type MigrationOptions, type SafetyReport } from '../../src/auto-migration';
import { bootApp } from './boot';
import { migration } from './migrations';

/*
 * The SQLite safety-analysis tests' furniture: an applied migration that creates tables in use
 * (with rows the rules count), and the pending change under analysis written as a class or as a
 * `.sql` file of the same text.
 */

/** users: 6 rows, 2 of them with a NULL name, 3 named 'ada' (2 duplicates), every email distinct; an index on name. posts: 3 rows. */
export const BASE_SQL = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
INSERT INTO users (email, name) VALUES
  ('ada@example.com', 'ada'), ('grace@example.com', NULL), ('lovelace@example.com', 'ada'),
  ('edsger@example.com', NULL), ('byron@example.com', 'ada'), ('hopper@example.com', 'grace');
CREATE INDEX users_name ON users (name);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER, title TEXT);
INSERT INTO posts (user_id, title) VALUES (1, 'notes'), (2, 'compilers'), (1, 'engines');`;

export const USERS = 6;
export const NULL_NAMES = 2;
export const DUPLICATE_NAMES = 2;
export const POSTS = 3;

/** The applied migration every test starts from. */
export const BASE = migration('001_base', (db) => void db.exec(BASE_SQL));

/** How the pending change is written. */
export type Form = 'class' | 'sql';
export const FORMS: readonly Form[] = ['class', 'sql'];

/**
 * A rebuild of users the way SQLite changes what ALTER TABLE cannot (a type, NOT NULL): a new
 * table with `columns`, the rows copied, the old one dropped, the new one renamed, its index made again.
 */
export function rebuildUsers(columns: string): string {
  return [
    `CREATE TABLE users_new (${columns});`,
    'INSERT INTO users_new (id, email, name) SELECT id, email, name FROM users;',
    'DROP TABLE users;',
    'ALTER TABLE users_new RENAME TO users;',
    'CREATE INDEX users_name ON users (name);',
  ].join('\n');
}

/** The pending migration: `sql` as a class that runs it, or written to `<dir>/<name>.sql` (returns no class then). */
export function pending(form: Form, dir: string, name: string, sql: string, allow: string[] = []): Type<unknown>[] {
  if (form === 'class') return [migration(name, (db: Database) => void db.exec(sql), { version: '1.1.0', allow } as Partial<MigrationOptions>)];
  const header = `-- version: 1.1.0\n${allow.length > 0 ? `-- allow: ${allow.join(', ')}\n` : ''}`;
  writeFileSync(join(dir, `${name}.sql`), `${header}${sql}\n`);
  return [];
}

/** A folder of `.sql` migrations (empty to start with) beside the database. */
export function migrationsFolder(parent: string): string {
  const folder = join(parent, 'migrations');
  if (!existsSync(folder)) mkdirSync(folder);
  return folder;
}

/** Boots an app that applies the base migration at start-up, then closes it. */
export async function applyBase(options: Partial<AutoMigrationModuleOptions>): Promise<void> {
  await (await bootApp(options, { migrations: [BASE] })).app.close();
}

/**
 * Boots as the command-line tool does (nothing runs at bootstrap), calls `lint()` while the app is
 * open (`around.before` and `around.after` run just before and just after it, e.g. to read the files), closes.
 */
export async function lint(
  options: Partial<AutoMigrationModuleOptions>,
  migrations: Type<unknown>[],
  around: { before?: () => void; after?: () => void } = {},
): Promise<SafetyReport> {
  const flag = Symbol.for('nestjs-auto-migration.cli');
  (globalThis as Record<symbol, unknown>)[flag] = true;
  const { app } = await bootApp(options, { migrations: [BASE, ...migrations] }).finally(() => delete (globalThis as Record<symbol, unknown>)[flag]);
  try {
    around.before?.();
    const report = await app.get(AutoMigrationService).lint();
    around.after?.();
    return report;
  } finally {
    await app.close();
  }
}

/**
 * The live database's bytes: the file and its write-ahead log. A missing log reads as an empty
 * one: both hold no frame, and SQLite creates the empty file when a connection first reads. The
 * -shm index is left out: it is shared memory that any reader writes.
 */
export function liveBytes(database: string): { db: Buffer; wal: Buffer } {
  const wal = `${database}-wal`;
  return { db: readFileSync(database), wal: existsSync(wal) ? readFileSync(wal) : Buffer.alloc(0) };
}

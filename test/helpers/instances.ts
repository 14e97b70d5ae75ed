import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { type BootOptions, bootApp, bootFailure, type CapturingLogger } from './boot';

/** The tables the module keeps in each database (SQLite and PostgreSQL alike), beside the migrations' own. */
export const MODULE_TABLES: readonly string[] = ['migration_attempts', 'migration_lock', 'migration_meta', 'migrations', 'migrations_archive'];

/**
 * Boots an app that imports every module of `imports` (`AutoMigrationModule.forRoot(...)` calls),
 * in this order: the first where `bootApp` puts its own import, the others after the migrations'
 * module, before `boot.imports`.
 */
export function bootInstances(
  imports: readonly DynamicModule[],
  boot: Omit<BootOptions, 'autoMigration'> = {},
  options?: Parameters<typeof bootApp>[2],
): ReturnType<typeof bootApp> {
  const [first, ...rest] = imports;
  return bootApp({}, { ...boot, autoMigration: first, imports: [...rest, ...(boot.imports ?? [])] }, options);
}

/** Like `bootInstances`, expecting start-up to fail; returns the error and the log. */
export function bootInstancesFailure(
  imports: readonly DynamicModule[],
  boot: Omit<BootOptions, 'autoMigration'> = {},
): Promise<{ error: Error; logger: CapturingLogger }> {
  const [first, ...rest] = imports;
  return bootFailure({}, { ...boot, autoMigration: first, imports: [...rest, ...(boot.imports ?? [])] });
}

/**
 * Every entry under `dir`, recursively, by relative path: a file's bytes, a symlink's target, a
 * folder's marker. Equal snapshots before and after a refused start mean nothing was written.
 */
export function snapshotTree(dir: string): Record<string, Buffer | string> {
  const found: Record<string, Buffer | string> = {};
  if (!existsSync(dir)) return found;
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(dir, relative))) {
      const path = join(relative, entry);
      const stat = lstatSync(join(dir, path));
      if (stat.isSymbolicLink()) found[path] = `-> ${readlinkSync(join(dir, path))}`;
      else if (stat.isDirectory()) {
        found[path] = '(folder)';
        walk(path);
      } else found[path] = readFileSync(join(dir, path));
    }
  };
  walk('');
  return found;
}

/**
 * The structure of a JSON document: every object's keys in their order, each with the structure
 * of its value, arrays by the structure of their items, leaves by type. Two status documents of
 * the same state have the same structure whatever their times and durations.
 */
export function structureOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structureOf);
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([key, item]) => [key, structureOf(item)]);
  return value === null ? 'null' : typeof value;
}

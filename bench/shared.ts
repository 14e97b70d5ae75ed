/**
 * Helpers shared by the parent (run.ts) and the workload scripts it spawns. Deliberately free of
 * Nest and of the library: the raw baselines load this file too, and their timings and memory
 * peaks must not include code they do not use.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';

export const QUICK = process.env.BENCH_QUICK === '1';
export const ROOT = resolve(__dirname, '..');

/** The body of migration `i` (1-based). What `up` does, for the module and the raw baselines alike. */
export interface MigrationSteps {
  up(db: Database): void;
}

/** `0001_t1`: a zero-padded prefix, so every name has the same prefix width, as the module requires. */
export function migrationName(i: number, n: number): string {
  return `${String(i).padStart(Math.max(4, String(n).length), '0')}_t${i}`;
}

/**
 * Builds the class of migration `i` from source text, as a file of the app would define it:
 * each class has its own SQL literals, so each has its own source and checksum, and the module
 * hashes realistic text rather than one closure shared by all.
 */
export function migrationClass(i: number): new () => MigrationSteps {
  const source = `
    return class Migration${i} {
      up(db) {
        db.exec('CREATE TABLE t${i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)');
        db.exec('CREATE INDEX idx_t${i}_name ON t${i} (name)');
        const insert = db.prepare('INSERT INTO t${i} (name, qty) VALUES (?, ?)');
        for (let row = 0; row < 10; row++) insert.run('row ' + row, row);
      }
    };`;
  return new Function(source)() as new () => MigrationSteps;
}

export function migrationClasses(n: number): (new () => MigrationSteps)[] {
  return Array.from({ length: n }, (_, k) => migrationClass(k + 1));
}

export function tempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `bench-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What every workload script prints as its last stdout line. */
export interface ChildResult {
  /** Wall-clock durations in ms, one per measured run of that process. */
  ms: number[];
  /** CPU time (user + system, all threads) of the same runs: leaves out waits for the disk and for a core. */
  cpuMs: number[];
  /** Peak resident set size of the process, in KiB. */
  maxRssKb: number;
  /** Further figures of the same runs, one entry per run, by name (e.g. W5's `verifyMs`). */
  extra?: Record<string, number[]>;
}

export type Sample = { ms: number; cpuMs: number };

export async function measure(work: () => unknown): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000 };
}

export function report(samples: Sample[], extra?: Record<string, number[]>): void {
  const result: ChildResult = {
    ms: samples.map((s) => s.ms),
    cpuMs: samples.map((s) => s.cpuMs),
    maxRssKb: process.resourceUsage().maxRSS,
    ...(extra && { extra }),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs `bench/<script>.ts` in a fresh Node process and returns the JSON it printed. */
export function runChild(script: string, args: (string | number)[]): ChildResult {
  // --expose-gc lets a script that measures several runs start each from a collected heap.
  const node = ['--expose-gc', '-r', 'ts-node/register/transpile-only'];
  const child = spawnSync(process.execPath, [...node, join(ROOT, 'bench', `${script}.ts`), ...args.map(String)], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) {
    throw new Error(`bench/${script}.ts ${args.join(' ')} exited with ${child.status ?? child.signal}:\n${child.stderr}`);
  }
  const last = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as ChildResult;
  } catch {
    throw new Error(`bench/${script}.ts ${args.join(' ')} printed no result:\n${child.stdout}\n${child.stderr}`);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

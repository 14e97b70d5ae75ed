/**
 * Helpers shared by the parent (run.ts) and the workload scripts it spawns. Deliberately free of
 * Nest and of the library: the raw baselines load this file too, and their timings and memory
 * peaks must not include code they do not use.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
 * The statements of migration `i`: a table, an index on it and 10 rows. The module's classes and
 * the raw baselines run them through better-sqlite3 (migrationClass); the peers through their own
 * query APIs, so every tool executes the same SQL.
 */
export function migrationSql(i: number) {
  return {
    create: `CREATE TABLE t${i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)`,
    index: `CREATE INDEX idx_t${i}_name ON t${i} (name)`,
    insert: `INSERT INTO t${i} (name, qty) VALUES (?, ?)`,
    rows: Array.from({ length: 10 }, (_, row) => [`row ${row}`, row] as const),
  };
}

/**
 * Called first thing in every `up` when given (W3, W4): records the call outside the database and
 * may slow the migration down. Receives the migration's number.
 */
export type UpHook = (i: number) => void;

/**
 * Builds the class of migration `i` from source text, as a file of the app would define it:
 * each class has its own SQL literals, so each has its own source and checksum, and the module
 * hashes realistic text rather than one closure shared by all. With `onUp`, the source calls it
 * first (the same text otherwise).
 */
export function migrationClass(i: number, onUp?: UpHook): new () => MigrationSteps {
  const sql = migrationSql(i);
  const source = `
    return class Migration${i} {
      up(db) {${onUp ? `\n        onUp(${i});` : ''}
        db.exec('${sql.create}');
        db.exec('${sql.index}');
        const insert = db.prepare('${sql.insert}');
        for (let row = 0; row < 10; row++) insert.run('row ' + row, row);
      }
    };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- on purpose: classes with real source text, as the module checksums them.
  const build = new Function('onUp', source) as (onUp?: UpHook) => new () => MigrationSteps;
  return build(onUp);
}

/**
 * W3, W4: an UpHook that appends the migration's number to `log`. appendFileSync opens with
 * O_APPEND, so each line is one atomic write, whichever process writes it; the count survives
 * rollbacks and crashes, which the database's own history cannot show.
 */
export function upLogger(log: string): UpHook {
  return (i) => appendFileSync(log, `${i}\n`);
}

/** How often the `up` of each migration 1..n was entered, per the log (index 0 unused). */
export function upCounts(log: string, n: number): number[] {
  const counts = new Array<number>(n + 1).fill(0);
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n')) if (line) counts[Number(line)]++;
  return counts;
}

export function migrationClasses(n: number, onUp?: UpHook): (new () => MigrationSteps)[] {
  return Array.from({ length: n }, (_, k) => migrationClass(k + 1, onUp));
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
  /** What the figures cannot say: error messages of failed processes, a tool's state left behind. */
  notes?: string[];
}

export type Sample = { ms: number; cpuMs: number };

/** Milliseconds since the epoch, sub-millisecond: comparable across the processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function measure(work: () => unknown): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000 };
}

export function report(samples: Sample[], extra?: Record<string, number[]>, notes?: string[]): void {
  const result: ChildResult = {
    ms: samples.map((s) => s.ms),
    cpuMs: samples.map((s) => s.cpuMs),
    maxRssKb: process.resourceUsage().maxRSS,
    ...(extra && { extra }),
    ...(notes?.length ? { notes } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Boots with the module and without it, alternately, after one warm-up of each, and reports them:
 * `ms` / `cpuMs` are the boots with it, `extra.withoutMs` / `withoutCpuMs` those without,
 * `extra.costMs` / `costCpuMs` the difference within each pair, so drift in the machine's load
 * hits both halves of a pair alike.
 */
export async function reportPairedBoots(withModule: () => Promise<unknown>, without: () => Promise<unknown>, runs: number): Promise<void> {
  await withModule();
  await without();
  const [withSamples, withoutSamples]: Sample[][] = [[], []];
  for (let run = 0; run < runs; run++) {
    // Which half of a pair goes first alternates, so whatever favours the second boot of a pair cancels out.
    for (const withIt of run % 2 === 0 ? [true, false] : [false, true]) {
      // Garbage left by the previous boot is not this boot's cost.
      global.gc?.();
      if (withIt) withSamples.push(await measure(withModule));
      else withoutSamples.push(await measure(without));
    }
  }
  const pairs = withSamples.map((w, k) => ({ ms: w.ms - withoutSamples[k].ms, cpuMs: w.cpuMs - withoutSamples[k].cpuMs }));
  report(withSamples, {
    withoutMs: withoutSamples.map((s) => s.ms),
    withoutCpuMs: withoutSamples.map((s) => s.cpuMs),
    costMs: pairs.map((p) => p.ms),
    costCpuMs: pairs.map((p) => p.cpuMs),
  });
}

/**
 * The command line of `bench/<script>.ts` in a fresh Node process, run from the root by ts-node,
 * or with `cached` by scripts/ts-cache.js (the same compilation, cached across processes: for processes
 * whose start-up counts).
 */
export function scriptArgs(script: string, args: (string | number)[], loader: 'ts-node' | 'cached' = 'ts-node'): string[] {
  const register = loader === 'cached' ? join(ROOT, 'scripts', 'ts-cache.js') : 'ts-node/register/transpile-only';
  // --expose-gc lets a script that measures several runs start each from a collected heap.
  return ['--expose-gc', '-r', register, join(ROOT, 'bench', `${script}.ts`), ...args.map(String)];
}

/** Runs `bench/<script>.ts` in a fresh Node process and returns the JSON it printed. */
export function runChild(script: string, args: (string | number)[], loader: 'ts-node' | 'cached' = 'ts-node'): ChildResult {
  const child = spawnSync(process.execPath, scriptArgs(script, args, loader), {
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

/** An error message as one short line for the notes; Knex's `<SQL> - <message>` keeps the message. */
export function errorLine(error: unknown): string {
  // A path in a run's temp dir, or a run's schema (pg-server.ts), differs from run to run; the same error should read the same.
  const line = String((error as Error)?.message ?? error)
    .split('\n')[0]
    .replace(/[^\s'"]*\/bench-w\d-[^/\s]+\//g, '<temp dir>/')
    .replace(/\bbench_[a-z0-9_]+?_\d+_\d+\b/g, '<schema>');
  const sql = line.lastIndexOf(' - ');
  return line.length > 160 && sql > 0 ? `${line.slice(0, 40)}… - ${line.slice(sql + 3)}`.slice(0, 200) : line.slice(0, 160);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A workload script started in the background (cached loader), its output collected as it comes. */
export function spawnScript(script: string, args: (string | number)[]) {
  const child = spawn(process.execPath, scriptArgs(script, args, 'cached'), { cwd: ROOT });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', ...output })),
  );
  return { child, output, exited };
}

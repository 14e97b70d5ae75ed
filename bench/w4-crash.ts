/**
 * W4: a process killed in the middle of its migrations, then a fresh one. The victim applies `n`
 * ordinary transactional migrations, each made slower by a busy loop of `busyMs` in its `up` (so
 * the kill lands inside a migration's transaction, not between two), and gets SIGKILL once
 * `killAfter` of them have started (a file, or for a PostgreSQL tool a fresh schema). A fresh process with the same migrations (no busy loop:
 * the slowness only made room for the kill) is then timed from its spawn to its exit: it either
 * finishes the migrations on its own ("recovered") or fails or hangs ("stuck").
 *
 * Each `up` appends its number to a log first (shared.ts upLogger): the victim's progress is read
 * from it, and a migration whose `up` ran in both processes is one the crash interrupted (or,
 * for a batch transaction, one whose work the crash rolled back).
 *
 *   w4-crash.ts run <tool> <n> <killAfter> <busyMs> <runs>   the whole workload for one tool
 *   w4-crash.ts migrate <tool> <n> <file> <log> <busyMs>     one process of it, spawned by `run`
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorLine, report, spawnScript, tempDir, upCounts, upLogger, type Sample } from './shared';
import { appliedState, loadTool, migrateReportingError, newTarget, PG_TOOLS, TOOLS, type AnyTool } from './tools';

/** A fresh process still running after this long is stuck (waiting on a lock nobody holds). */
const RECOVERY_TIMEOUT_MS = 30_000;
/** The victim must reach `killAfter` migrations within this long, start-up included. */
const VICTIM_TIMEOUT_MS = 60_000;

/** What a `migrate` process prints as its last stdout line. */
interface MigrateResult {
  /** From the process's start to its code loaded and its migrations built: Node's start-up plus loading. */
  loadedMs: number;
  migrateMs: number;
  error?: string;
}

/** One process: loads the tool, migrates `file`, prints a MigrateResult. */
async function migrate(tool: AnyTool, n: number, file: string, log: string, busyMs: number): Promise<void> {
  const record = upLogger(log);
  const spin = (i: number) => {
    record(i);
    for (const until = performance.now() + busyMs; performance.now() < until;);
  };
  const migrator = await loadTool(tool, n, busyMs > 0 ? spin : record);
  // performance.now() counts from the process's start.
  const loadedMs = performance.now();
  const error = await migrateReportingError(migrator, file);
  const result: MigrateResult = { loadedMs, migrateMs: performance.now() - loadedMs, ...(error !== undefined && { error }) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(error === undefined ? 0 : 1);
}

function start(args: (string | number)[]) {
  return spawnScript('w4-crash', ['migrate', ...args]);
}

const lines = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0);

async function run(tool: AnyTool, n: number, killAfter: number, busyMs: number, runs: number): Promise<void> {
  const samples: Sample[] = [];
  const extra: Record<string, number[]> = { recovered: [], complete: [], killedAt: [], rerun: [], loadedMs: [], migrateMs: [] };
  const notes: string[] = [];
  for (let round = 0; round < runs; round++) {
    const tmp = tempDir('w4');
    const target = await newTarget(tool, tmp.dir, 'app');
    const file = target.target;
    const log = join(tmp.dir, 'up.log');
    const victim = start([tool, n, file, log, busyMs]);
    try {
      let victimExit: string | undefined;
      void victim.exited.then(({ code, stdout, stderr }) => (victimExit = `exited with ${code}: ${stdout}${errorLine(stderr)}`));
      for (const deadline = Date.now() + VICTIM_TIMEOUT_MS; lines(log) < killAfter; await sleep(2)) {
        if (victimExit) throw new Error(`${tool}: the victim ${victimExit} before ${killAfter} migrations had started: raise busyMs`);
        if (Date.now() > deadline) throw new Error(`${tool}: the victim did not reach ${killAfter} migrations in ${VICTIM_TIMEOUT_MS} ms`);
      }
      victim.child.kill('SIGKILL');
      await victim.exited;
      const killedAt = lines(log);

      const started = performance.now();
      const fresh = start([tool, n, file, log, 0]);
      const timer = setTimeout(() => fresh.child.kill('SIGKILL'), RECOVERY_TIMEOUT_MS);
      const { code, stdout, stderr } = await fresh.exited;
      clearTimeout(timer);
      const ms = performance.now() - started;

      let result: MigrateResult | undefined;
      try {
        result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as MigrateResult;
      } catch {
        // Killed at the timeout, or died without a word: the notes say which.
      }
      const recovered = code === 0;
      const state = await appliedState(file, tool);
      samples.push({ ms, cpuMs: 0 });
      extra.recovered.push(recovered ? 1 : 0);
      extra.complete.push(state.historyRows === n && state.tables === n ? 1 : 0);
      extra.killedAt.push(killedAt);
      extra.rerun.push(upCounts(log, n).filter((c) => c > 1).length);
      extra.loadedMs.push(result?.loadedMs ?? NaN);
      extra.migrateMs.push(result?.migrateMs ?? NaN);
      if (!recovered) {
        notes.push(
          result?.error ?? (code === 'SIGKILL' ? `no result after ${RECOVERY_TIMEOUT_MS / 1000} s` : `exited with ${code}: ${errorLine(stderr.trim())}`),
        );
      }
      notes.push(...state.notes);
    } finally {
      if (victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill('SIGKILL');
      await target.remove();
      tmp.remove();
    }
  }
  report(samples, extra, [...new Set(notes)]);
}

if (require.main === module) {
  const [mode, tool, n, ...rest] = process.argv.slice(2);
  const valid = ([...TOOLS, ...PG_TOOLS] as readonly string[]).includes(tool) && Number(n) > 0;
  const main =
    mode === 'run' && valid && rest.length === 3 && rest.every((a) => Number(a) > 0)
      ? () => run(tool as AnyTool, Number(n), Number(rest[0]), Number(rest[1]), Number(rest[2]))
      : mode === 'migrate' && valid && rest.length === 3
        ? () => migrate(tool as AnyTool, Number(n), rest[0], rest[1], Number(rest[2]))
        : () =>
            Promise.reject(
              new Error(
                `usage: w4-crash.ts run <${[...TOOLS, ...PG_TOOLS].join('|')}> <n> <killAfter> <busyMs> <runs> | migrate <tool> <n> <file> <log> <busyMs>`,
              ),
            );
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

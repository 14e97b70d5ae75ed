import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root and its tsconfig, for child processes that run elsewhere. */
export const REPO_ROOT = resolve(__dirname, '..', '..');
export const REPO_TSCONFIG = join(REPO_ROOT, 'tsconfig.json');

// Resolved from the repo, so `-r` works whatever the child's working directory is. Within a test
// run (TS_CACHE_DIR, set by test/global-setup.js) children compile through the shared cache of
// scripts/ts-cache.js, the same compilation as ts-node's transpile-only mode, paid once per file.
const TS_NODE_REGISTER = process.env.TS_CACHE_DIR
  ? join(REPO_ROOT, 'scripts', 'ts-cache.js')
  : require.resolve('ts-node/register/transpile-only', { paths: [REPO_ROOT] });
const TSCONFIG_PATHS_REGISTER = require.resolve('tsconfig-paths/register', { paths: [REPO_ROOT] });

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child process whose output is collected. */
export interface RunningChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) contains `pattern`; rejects on exit or timeout, with the output. */
  waitForOutput(pattern: string | RegExp, timeoutMs: number, stream?: 'stdout' | 'stderr'): Promise<void>;
  /** Resolves with the exit; on timeout kills the child (SIGKILL) and rejects with its output. */
  waitForExit(timeoutMs: number): Promise<ExitResult>;
  /** Sends a signal if the child is still running. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: boolean;
  /** stdout and stderr, for failure messages. */
  describe(): string;
}

export interface SpawnOptions {
  cwd?: string;
  /** Added to (and overriding) the parent's environment; `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  args?: string[];
}

const live = new Set<RunningChild>();

/** Spawns any command, collecting its output. */
export function spawnProcess(command: string, args: string[], options: Omit<SpawnOptions, 'args'> = {}): RunningChild {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) if (value !== undefined) env[key] = value;
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: ExitResult | undefined;
  let spawnError: Error | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exitedPromise = new Promise<ExitResult>((resolveExit) => {
    // 'close' (not 'exit') so that all output has been read.
    child.on('close', (code, signal) => {
      exit = { code, signal };
      live.delete(handle);
      resolveExit(exit);
    });
    child.on('error', (error) => {
      spawnError = error;
      exit = { code: null, signal: null };
      live.delete(handle);
      resolveExit(exit);
    });
  });

  const describe = () =>
    `command: ${command} ${args.join(' ')}\n--- stdout ---\n${out}\n--- stderr ---\n${err}` +
    (spawnError ? `\n--- spawn error ---\n${spawnError.message}` : '') +
    (exit ? `\n--- exit: code ${exit.code}, signal ${exit.signal} ---` : '');

  const handle: RunningChild = {
    process: child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    get exited() {
      return exit !== undefined;
    },
    describe,
    kill(signal = 'SIGTERM') {
      if (exit === undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async waitForOutput(pattern, timeoutMs, stream = 'stdout') {
      const deadline = Date.now() + timeoutMs;
      const text = () => (stream === 'stdout' ? out : err);
      const found = () => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
      while (!found()) {
        if (exit !== undefined) throw new Error(`child exited before printing ${String(pattern)}\n${describe()}`);
        if (Date.now() > deadline) throw new Error(`child did not print ${String(pattern)} within ${timeoutMs} ms\n${describe()}`);
        await sleep(10);
      }
    },
    async waitForExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolveTimeout) => (timer = setTimeout(() => resolveTimeout('timeout'), timeoutMs)));
      const result = await Promise.race([exitedPromise, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exitedPromise;
        throw new Error(`child did not exit within ${timeoutMs} ms (killed)\n${describe()}`);
      }
      return result;
    },
  };
  live.add(handle);
  return handle;
}

/**
 * Runs a TypeScript file with `node -r ts-node/register/transpile-only` or its cached equivalent (plus
 * `-r tsconfig-paths/register` with `paths: true`, for code that imports
 * 'nestjs-auto-migration' by package name). ts-node and tsconfig-paths read the repo's tsconfig
 * whatever the working directory is.
 */
export function spawnTs(file: string, options: SpawnOptions & { paths?: boolean } = {}): RunningChild {
  const nodeArgs = ['-r', TS_NODE_REGISTER, ...(options.paths ? ['-r', TSCONFIG_PATHS_REGISTER] : []), file, ...(options.args ?? [])];
  return spawnProcess(process.execPath, nodeArgs, {
    cwd: options.cwd,
    env: { TS_NODE_PROJECT: REPO_TSCONFIG, ...options.env },
  });
}

/** Kills (SIGKILL) every child spawned by these helpers that is still running; for afterEach. */
export async function killStrayChildren(): Promise<void> {
  const running = [...live];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map((child) => child.waitForExit(10_000).catch(() => undefined)));
}

/** A port that was free a moment ago: listen on port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

export interface HttpResponse {
  status: number;
  body: string;
  json<T = any>(): T;
}

/** A plain GET without keep-alive (so no socket outlives the test). */
export function httpGet(url: string, timeoutMs = 10_000): Promise<HttpResponse> {
  return new Promise((resolveResponse, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolveResponse({
          status: res.statusCode ?? 0,
          body,
          json: () => {
            try {
              return JSON.parse(body);
            } catch {
              throw new Error(`${url} did not answer JSON: ${body}`);
            }
          },
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `url` until it answers with any HTTP status. Rejects, with the child's output, if the
 * child exits first or the timeout passes.
 */
export async function waitForHttp(url: string, timeoutMs: number, child?: RunningChild): Promise<HttpResponse> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (child?.exited) throw new Error(`child exited before ${url} answered\n${child.describe()}`);
    try {
      return await httpGet(url, 5_000);
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer within ${timeoutMs} ms (last error: ${String(lastError)})${child ? `\n${child.describe()}` : ''}`);
    }
    await sleep(100);
  }
}

/** The command-line tool's entry point, run from source by `runCli`. */
export const CLI_SOURCE = join(REPO_ROOT, 'src', 'auto-migration', 'cli', 'main.ts');

/** A finished run of the command-line tool. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, its output and its exit, for failure messages. */
  describe(): string;
}

/**
 * Runs `nest-auto-migration <args>` from source through ts-node (transpile-only, as the other
 * spawned fixtures) and waits for it to exit. `paths: true` lets modules outside the repo import
 * 'nestjs-auto-migration' by name (mapped to the sources, so they share the CLI's classes).
 */
export async function runCli(args: string[], options: Omit<SpawnOptions, 'args'> & { paths?: boolean; timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawnTs(CLI_SOURCE, { ...options, args });
  const exit = await child.waitForExit(options.timeoutMs ?? 60_000);
  return { code: exit.code, stdout: child.stdout(), stderr: child.stderr(), describe: () => child.describe() };
}

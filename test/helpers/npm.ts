import { type RunningChild, spawnProcess } from './child-process';

/** The parent's environment without npm's own variables (set when the suite runs under `npm test`). */
export function npmEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (/^npm_/i.test(key)) env[key] = undefined;
  return env;
}

/** Runs `npm <args>` in `cwd` and waits for it; throws with its output unless it exits 0. */
export async function npm(args: string[], cwd: string, timeoutMs = 170_000): Promise<RunningChild> {
  const child = spawnProcess('npm', args, { cwd, env: npmEnv() });
  const exit = await child.waitForExit(timeoutMs);
  if (exit.code !== 0) throw new Error(`npm ${args.join(' ')} failed\n${child.describe()}`);
  return child;
}

import type { CliRun } from './child-process';

/** Fails with the whole run (command, exit code, output) when the exit code is not `code`. */
export function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

/** Exit 2 with exactly one line `error CODE: ...` on stderr and no stack trace; returns that line. */
export function expectOneErrorLine(run: CliRun, code: string): string {
  expectExit(run, 2);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('error '));
  if (errors.length !== 1 || !errors[0].startsWith(`error ${code}: `)) throw new Error(`expected one line "error ${code}: ..."\n${run.describe()}`);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return errors[0];
}

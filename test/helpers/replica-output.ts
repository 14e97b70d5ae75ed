import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type RunningChild } from './child-process';

export { CLEARED_LEASE } from './sqlite';

/*
 * Reading what a test/fixtures/replica-app.ts process printed and wrote: its EVENT, STATUS and
 * log lines, and the execution log its migrations append to.
 */

export const REPLICA_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'replica-app.ts');
/** Rows each fixture migration inserts into its table. */
export const ROWS_PER_TABLE = 5;
/** Any line of the module saying it waits for another holder. */
export const WAIT_LINE = /^LOG \[AutoMigration\] Migration lock held by /;

/** Name of the fixture's n-th migration (1-based). */
export function migrationName(n: number): string {
  const p = String(n).padStart(3, '0');
  return `${p}_create_t${p}`;
}

export interface ReplicaEvent {
  type: string;
  at: string;
  [key: string]: any;
}

export function lines(child: RunningChild): string[] {
  return child.stdout().split('\n');
}

export function events(child: RunningChild): ReplicaEvent[] {
  return lines(child)
    .filter((l) => l.startsWith('EVENT '))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as ReplicaEvent);
}

/** The final status the fixture printed. */
export function status(child: RunningChild): any {
  const found = lines(child).filter((l) => l.startsWith('STATUS '));
  if (found.length !== 1) throw new Error(`expected one STATUS line\n${child.describe()}`);
  return JSON.parse(found[0].slice('STATUS '.length));
}

export function waitLines(child: RunningChild): string[] {
  return lines(child).filter((l) => WAIT_LINE.test(l));
}

/** `<pid> <name>` lines written by the migrations as they start. */
export function execLog(file: string): { pid: number; name: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, name] = l.split(' ');
      return { pid: Number(pid), name };
    });
}

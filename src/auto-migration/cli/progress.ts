/**
 * How far the current command line got, for the guard in main.ts that reports a command which
 * stopped with nothing left to wait for: Node exits (with code 0) when its event loop drains,
 * also while a promise the command awaits can never settle, e.g. an app's
 * `onApplicationBootstrap` awaiting something that only the app's own start would bring about.
 */
export type CliPhase = 'parsing' | 'loading' | 'booting' | 'running' | 'closing';

let current: { phase: CliPhase; target: string | null } = { phase: 'parsing', target: null };

/** Records that the command line entered `phase`, working on `target` (the module label). */
export function enterPhase(phase: CliPhase, target: string | null = current.target): void {
  current = { phase, target };
}

/** Where the command line is now. */
export function currentPhase(): { readonly phase: CliPhase; readonly target: string | null } {
  return current;
}

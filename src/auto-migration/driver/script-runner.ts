/**
 * How a `.sql` file's text runs on the connection a driver hands to `up(db)`: the driver registers
 * each connection it hands out, so that a SQL-file migration runs on whichever database runs it,
 * without naming one.
 */

/** How a script runs: `transaction: false` files run outside any transaction (a driver may then split them into statements). */
export interface ScriptOptions {
  readonly transaction: boolean;
}

type ScriptRunner = (sql: string, options: ScriptOptions) => unknown;

const runners = new WeakMap<object, ScriptRunner>();

/** Registers how SQL text runs on `connection` (a driver, for each migration connection it hands out). */
export function registerScriptRunner(connection: object, run: ScriptRunner): void {
  runners.set(connection, run);
}

/** Runs a `.sql` migration's whole text on `connection`, as its driver registered. */
export async function runScript(connection: unknown, sql: string, options: ScriptOptions): Promise<void> {
  const run = typeof connection === 'object' && connection !== null ? runners.get(connection) : undefined;
  if (!run) throw new Error('a .sql migration ran on a connection the module did not hand out; run it through the module (up, or a start)');
  await run(sql, options);
}

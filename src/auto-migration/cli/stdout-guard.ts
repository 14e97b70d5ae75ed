/**
 * stdout belongs to the command's answer (`status --json` is pure JSON on stdout), but the app's
 * code writes there too: `console.log` in a provider or a migration, a `new ConsoleLogger()` of
 * its own, Nest's default logger of an application the module file starts itself. While a command
 * runs, every write to `process.stdout` goes to stderr instead; the command writes its answer
 * through `writeAnswer`, which keeps the real stdout.
 *
 * Writes that bypass `process.stdout` (a logger writing to file descriptor 1 itself) cannot be
 * caught here: configure such a logger for stderr in the module the command line boots.
 */

/** The real `process.stdout.write`, taken when the command line starts. */
const realWrite = process.stdout.write.bind(process.stdout);

/** Writes the command's own output to the real stdout, also while `divertStdout()` is in force. */
export function writeAnswer(text: string): void {
  realWrite(text);
}

/** Sends every other write to stdout to stderr; returns the function that ends it. */
export function divertStdout(): () => void {
  const stdout = process.stdout as { write: typeof process.stdout.write };
  const previous = stdout.write;
  stdout.write = process.stderr.write.bind(process.stderr);
  return () => {
    stdout.write = previous;
  };
}

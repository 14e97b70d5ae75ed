import { AutoMigrationError, describeCause, stackOf } from '../errors/auto-migration.error';
import { CliError, ReportedFailure } from './cli-error';

/**
 * The error report on stderr: one line, `error CODE: message`, with the stable code of the
 * library's and the command line's errors (`UNEXPECTED_ERROR` for anything else), so that a
 * deployment log shows the cause in one line and scripts can match on the code. `verbose` adds
 * the stack (and the cause's) below it.
 */
export function formatError(error: unknown, verbose: boolean): string {
  const coded = error instanceof AutoMigrationError || error instanceof CliError || error instanceof ReportedFailure;
  const code = coded ? error.code : 'UNEXPECTED_ERROR';
  const line = `error ${code}: ${oneLine(describeCause(error))}`;
  if (!verbose) return line;
  const stacks = [stackOf(error), stackOf((error as { cause?: unknown } | null)?.cause)].filter((s): s is string => s !== undefined);
  return [line, ...stacks].join('\n');
}

/** Library messages may list problems on several lines; a log line must stay one line. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
}

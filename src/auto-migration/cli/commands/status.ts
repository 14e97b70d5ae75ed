import type { MigrationRunState, MigrationStatus } from '../../status/migration-status.interface';
import { ReportedFailure } from '../cli-error';
import type { AppCommand, CommandOutput } from '../command';
import { ExitCode } from '../exit-codes';
import { oneLine } from '../format-error';
import { formatStatus } from '../format-status';
import { plural } from '../text';

/** The contract's exit codes for a status: up to date 0, pending (or running) 1, failed 2. */
export function exitCodeOfState(state: MigrationRunState): ExitCode {
  if (state === 'up-to-date') return ExitCode.Ok;
  if (state === 'failed') return ExitCode.Error;
  return ExitCode.Pending;
}

/**
 * After `up`, which ran migrations: 0, or the run's error. With
 * `failOnError: false` a failed run resolves with state `failed` instead of rejecting; the
 * command fails all the same, with the recorded error as its one line.
 */
export function exitCodeAfterRun(status: MigrationStatus): ExitCode {
  if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError);
  return ExitCode.Ok;
}

/**
 * After `resolve` and `repair`, which apply nothing: the state as `status` would show it, and
 * what to run next. The command did what it was asked, whatever the state: another interrupted
 * migration, say, is reported here and refused by the next `up`.
 */
export function reportStateAfterFix(status: MigrationStatus, output: CommandOutput): void {
  const error = status.lastError;
  output.line(`State: ${status.state}${status.state === 'failed' && error ? ` (${error.code}: ${oneLine(error.message)})` : ''}`);
  if (status.pending.length > 0) {
    output.line(`${plural(status.pending.length, 'migration')} pending: run \`nest-auto-migration up\` to apply pending migrations.`);
  }
}

/** `status [--json]`. */
export const statusCommand: AppCommand = {
  kind: 'app',
  name: 'status',
  summary: 'Show applied, pending and unknown migrations, the lock holder and the last backup.',
  synopsis: 'status [--json]',
  description: [
    'Shows where the schema stands, as GET /migrations/status does, after the checks a start makes',
    'before applying anything: checksums, interrupted transaction: false migrations, out-of-order',
    'pending ones (a problem shows as state "failed" with the last error). Reads without the lock;',
    'applies nothing.',
    'Exit code 0 when up to date, 1 when migrations are pending, 2 when the state is failed (the error',
    'is also one line on stderr) or on any other error.',
  ].join('\n'),
  flags: {
    json: { type: 'boolean', description: 'Print exactly the status JSON on stdout (logs stay on stderr).' },
  },
  positionals: [],
  async run(service, args, output) {
    const status = await service.check();
    output.line(args.flag('json') ? JSON.stringify(status, null, 2) : formatStatus(status));
    // The answer is printed whole; a failed state is also the one error line of a failed command.
    if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError);
    return exitCodeOfState(status.state);
  },
};

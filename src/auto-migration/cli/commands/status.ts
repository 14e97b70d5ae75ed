import type { MigrationRunState, MigrationStatus } from '../../status/migration-status.interface';
import { ReportedFailure } from '../cli-error';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { formatStatus } from '../format-status';

/** The contract's exit codes for a status: up to date 0, pending (or running) 1, failed 2. */
export function exitCodeOfState(state: MigrationRunState): ExitCode {
  if (state === 'up-to-date') return ExitCode.Ok;
  if (state === 'failed') return ExitCode.Error;
  return ExitCode.Pending;
}

/**
 * After a command that ran migrations (`up`, `resolve`, `repair`): 0, or the run's error. With
 * `failOnError: false` a failed run resolves with state `failed` instead of rejecting; the
 * command fails all the same, with the recorded error as its one line.
 */
export function exitCodeAfterRun(status: MigrationStatus): ExitCode {
  if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError);
  return ExitCode.Ok;
}

/** `status [--json]`. */
export const statusCommand: AppCommand = {
  kind: 'app',
  name: 'status',
  summary: 'Show applied, pending and unknown migrations, the lock holder and the last backup.',
  synopsis: 'status [--json]',
  description: [
    'Shows where the schema stands, as GET /migrations/status does. Changes nothing.',
    'Exit code 0 when up to date, 1 when migrations are pending, 2 on failure.',
  ].join('\n'),
  flags: {
    json: { type: 'boolean', description: 'Print exactly the status JSON on stdout (logs stay on stderr).' },
  },
  positionals: [],
  async run(service, args, output) {
    const status = await service.getStatus();
    output.line(args.flag('json') ? JSON.stringify(status, null, 2) : formatStatus(status));
    return exitCodeOfState(status.state);
  },
};

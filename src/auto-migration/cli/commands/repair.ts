import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { reportStateAfterFix } from './status';

/** `repair`. */
export const repairCommand: AppCommand = {
  kind: 'app',
  name: 'repair',
  summary: 'Accept the current checksums and clear interrupted attempts, after a backup.',
  synopsis: 'repair',
  description: [
    'For CHECKSUM_MISMATCH caused by formatting or a new compiler, once you have checked that no',
    "migration's meaning changed: stores the current checksums of the applied migrations, clears every",
    'interrupted transaction: false attempt, under the lock, after a backup. Applies nothing: run',
    '`nest-auto-migration up` afterwards to apply what is pending.',
  ].join('\n'),
  flags: {},
  positionals: [],
  async run(service, _args, output) {
    const result = await service.repair({ apply: false });
    output.line(result.checksumsAccepted.length > 0 ? `Accepted the current checksums of: ${result.checksumsAccepted.join(', ')}` : 'No checksum differed.');
    output.line(result.attemptsCleared.length > 0 ? `Cleared interrupted attempts of: ${result.attemptsCleared.join(', ')}` : 'No interrupted attempt.');
    const changed = result.checksumsAccepted.length > 0 || result.attemptsCleared.length > 0;
    output.line(changed ? `Repair recorded at ${result.repairedAt}.` : 'Nothing to repair: nothing was written.');
    reportStateAfterFix(await service.check(), output);
    return ExitCode.Ok;
  },
};

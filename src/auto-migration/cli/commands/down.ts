import type { RevertOptions } from '../..';
import type { ParsedArgs } from '../args';
import { usageError } from '../cli-error';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { plural, shownValue, table } from '../text';

/** `down [--steps N | --to NAME]`. */
export const downCommand: AppCommand = {
  kind: 'app',
  name: 'down',
  summary: 'Revert the newest migration(s) through their down(), after a backup.',
  synopsis: 'down [--steps N | --to NAME]',
  description: [
    'Reverts applied migrations through their down(), newest first, each in a transaction with the',
    'removal of its history row, under the migration lock, after a backup. If a migration on the way',
    'has no down() (or is archived, or missing from the code), nothing is reverted.',
    'Without flags, reverts the newest migration.',
    'Replicas already serving stay healthy (readiness up) through the revert, and their status shows the',
    'true state (running, then pending) within seconds.',
  ].join('\n'),
  flags: {
    steps: { type: 'string', value: 'N', description: 'Revert the newest N migrations (default 1).' },
    to: { type: 'string', value: 'NAME', description: 'Revert NAME and every migration applied after it.' },
  },
  positionals: [],
  check(args) {
    revertOptions(args);
  },
  async run(service, args, output) {
    const result = await service.revert(revertOptions(args));
    if (result.reverted.length === 0) {
      output.line('Nothing to revert: no migration is applied.');
      return ExitCode.Ok;
    }
    output.line(`Reverted ${plural(result.reverted.length, 'migration')}, newest first:`);
    for (const line of table(
      ['NAME', 'TIME'],
      result.reverted.map((m) => [m.name, `${m.durationMs} ms`]),
    ))
      output.line(line);
    output.line(result.backup ? `Backup written before reverting: ${result.backup}` : 'No backup was written (backups are off, or the database is in memory).');
    return ExitCode.Ok;
  },
};

/** `--to NAME`, or `--steps N` (default 1); both together are refused. */
function revertOptions(args: ParsedArgs): RevertOptions {
  const to = args.string('to');
  const steps = args.string('steps');
  if (to !== undefined && steps !== undefined) throw usageError('down: give --steps or --to, not both', 'down');
  if (to !== undefined) return { to };
  if (steps !== undefined && !/^[1-9]\d*$/.test(steps)) {
    throw usageError(`down: --steps must be a whole number of 1 or more, got ${shownValue(steps)}`, 'down');
  }
  return { steps: steps === undefined ? 1 : Number(steps) };
}

import { parseDuration } from '../../history/duration';
import type { ParsedArgs } from '../args';
import { usageError } from '../cli-error';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { plural, shownValue } from '../text';

/** `archive --older-than DURATION`. */
export const archiveCommand: AppCommand = {
  kind: 'app',
  name: 'archive',
  summary: 'Move old history rows to migrations_archive (they still count as applied).',
  synopsis: 'archive --older-than DURATION',
  description: [
    'Moves history rows applied more than DURATION ago from migrations to migrations_archive, under',
    'the lock. Archived migrations still count as applied; their checksums are no longer validated.',
    'DURATION is a number with a unit: 0s, 90s, 30m, 12h, 365d.',
  ].join('\n'),
  flags: {
    'older-than': { type: 'string', value: 'DURATION', description: 'Archive rows applied longer ago than this (0s archives all).' },
  },
  positionals: [],
  check(args) {
    olderThanOf(args);
  },
  async run(service, args, output) {
    const result = await service.archiveHistory({ olderThan: olderThanOf(args) });
    output.line(
      result.archived.length > 0
        ? `Archived ${plural(result.archived.length, 'migration')} applied before ${result.cutoff}: ${result.archived.join(', ')}`
        : `Nothing to archive: no history row was applied before ${result.cutoff}.`,
    );
    return ExitCode.Ok;
  },
};

/** The duration, checked here too (the library would refuse it as well) so that a typo boots nothing. */
function olderThanOf(args: ParsedArgs): string {
  const olderThan = args.string('older-than');
  if (olderThan === undefined) throw usageError('archive: --older-than DURATION is required', 'archive');
  if (olderThan.startsWith('-')) {
    throw usageError(`archive: --older-than must not be negative (a number with a unit: 0s, 90s, 30m, 12h, 365d), got ${olderThan}`, 'archive');
  }
  if (parseDuration(olderThan) === null) {
    throw usageError(`archive: --older-than must be a number with a unit (0s, 90s, 30m, 12h, 365d), got ${shownValue(olderThan)}`, 'archive');
  }
  return olderThan;
}

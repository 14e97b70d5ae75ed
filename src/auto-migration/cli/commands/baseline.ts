import { usageError } from '../cli-error';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { plural } from '../text';

/** `baseline --to NAME`. */
export const baselineCommand: AppCommand = {
  kind: 'app',
  name: 'baseline',
  summary: 'Adopt an existing database: record migrations up to NAME as applied without running them.',
  synopsis: 'baseline --to NAME',
  description: [
    'For a database that existed before this module was adopted: records every migration up to and',
    'including NAME as applied, without running it. Refused when the database already has a history.',
    'Later migrations stay pending; `up` applies them.',
  ].join('\n'),
  flags: {
    to: { type: 'string', value: 'NAME', description: 'The last migration the existing schema already contains.' },
  },
  positionals: [],
  check(args) {
    if (args.string('to') === undefined) throw usageError('baseline: --to NAME is required', 'baseline');
  },
  async run(service, args, output) {
    const result = await service.baseline({ to: args.string('to')! });
    output.line(`Recorded ${plural(result.recorded.length, 'migration')} as applied without running them (at ${result.at}):`);
    for (const name of result.recorded) output.line(`  ${name}`);
    return ExitCode.Ok;
  },
};

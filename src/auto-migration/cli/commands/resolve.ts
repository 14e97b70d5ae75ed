import { usageError } from '../cli-error';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { reportStateAfterFix } from './status';

/** `resolve NAME --applied | --rolled-back`. */
export const resolveCommand: AppCommand = {
  kind: 'app',
  name: 'resolve',
  summary: 'Settle an interrupted transaction: false migration as applied or rolled back.',
  synopsis: 'resolve NAME --applied | --rolled-back',
  description: [
    'The way out of INTERRUPTED_MIGRATION, once you have checked the database (or restored a backup):',
    '--applied records NAME as applied (all its changes are in place); --rolled-back clears the attempt',
    'so that it runs again (none of its changes are in place). Applies nothing: run',
    '`nest-auto-migration up` afterwards to apply what is pending.',
  ].join('\n'),
  flags: {
    applied: { type: 'boolean', description: 'All of its changes are in place: record it as applied.' },
    'rolled-back': { type: 'boolean', description: 'None of its changes are in place: let it run again.' },
  },
  positionals: ['NAME'],
  check(args) {
    if (args.flag('applied') === args.flag('rolled-back')) throw usageError('resolve: give exactly one of --applied and --rolled-back', 'resolve');
  },
  async run(service, args, output) {
    const [name] = args.positionals;
    const applied = args.flag('applied');

    await service.resolve(name, applied ? 'applied' : 'rolled-back', { apply: false });
    output.line(applied ? `Recorded ${name} as applied.` : `Cleared the interrupted attempt of ${name}: it runs again at the next \`up\`.`);
    reportStateAfterFix(await service.check(), output);
    return ExitCode.Ok;
  },
};

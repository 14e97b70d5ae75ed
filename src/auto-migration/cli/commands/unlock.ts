import { describeHolder } from '../../lock/lock-holder';
import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';

/** `unlock`. */
export const unlockCommand: AppCommand = {
  kind: 'app',
  name: 'unlock',
  summary: 'Clear the lease row left by a lock holder that died (refused while one is alive).',
  synopsis: 'unlock',
  description: [
    'Tidies the visible lease row (migration_lock) after its holder died. Never needed for safety:',
    'the lock itself belongs to the operating system and went with the process. Refused (LOCK_HELD)',
    'while a live process holds the lock.',
  ].join('\n'),
  flags: {},
  positionals: [],
  async run(service, _args, output) {
    const result = await service.unlock();
    output.line(
      result.cleared
        ? `Cleared the lease row of ${describeHolder(result.holder)}, which no longer holds the lock.`
        : 'Nothing to clear: the lease row is empty and nobody holds the lock.',
    );
    return ExitCode.Ok;
  },
};

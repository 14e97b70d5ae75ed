import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';

/** `restore FILE --force`. */
export const restoreCommand: AppCommand = {
  kind: 'app',
  name: 'restore',
  summary: 'Put a backup back in place of the database (needs --force).',
  synopsis: 'restore FILE --force',
  description: [
    "FILE is a backup's plain file name as listed in the backup folder (status shows the newest);",
    'paths are refused. Without --force it refuses and says what would be lost. It checks the backup,',
    'takes the migration lock, backs up the current state first, then replaces the database content.',
    'Stop every instance of the application first, and restart them afterwards.',
    'A file that is not a database at all (SQLITE_NOTADB, a garbled header) cannot be opened, so restore',
    'cannot run on it: the error gives the commands that put the newest backup in its place by hand.',
  ].join('\n'),
  flags: {
    force: { type: 'boolean', description: 'Confirm: everything written since the backup is lost.' },
  },
  positionals: ['FILE'],
  async run(service, args, output) {
    const [file] = args.positionals;
    // The library decides (and explains) the refusals: without force, or a name that is not a
    // backup of this database in its folder.
    await service.restore(file, { force: args.flag('force') });
    output.line(`Restored ${file}; the state before the restore was backed up first.`);
    output.line('Restart every instance of the application now: they still hold the schema they started with.');
    return ExitCode.Ok;
  },
};

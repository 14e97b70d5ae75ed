import type { AppCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes } from '../text';

/** `backup`. */
export const backupCommand: AppCommand = {
  kind: 'app',
  name: 'backup',
  summary: 'Write a verified backup of the database now.',
  synopsis: 'backup',
  description: [
    'Writes a verified backup to the backup folder now, under the migration lock, as a run does before',
    'migrating; retention (backup.keep) applies. Fails when backups are off (backup: false).',
  ].join('\n'),
  flags: {},
  positionals: [],
  async run(service, _args, output) {
    const backup = await service.backup();
    output.line(`Backup written: ${backup.file} (${formatBytes(backup.sizeBytes)}, ${backup.createdAt})`);
    return ExitCode.Ok;
  },
};

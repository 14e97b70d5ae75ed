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
    'migrating; retention (backup.keep) applies. When the newest backup already holds exactly this state,',
    'no new copy is written and that backup is named instead. Fails when backups are off (backup: false).',
  ].join('\n'),
  flags: {},
  positionals: [],
  async run(service, _args, output) {
    const backup = await service.backup();
    output.line(
      backup.reused
        ? `Backup reused: ${backup.file} (${formatBytes(backup.sizeBytes)}, ${backup.createdAt}) already holds this state; no new copy written`
        : `Backup written: ${backup.file} (${formatBytes(backup.sizeBytes)}, ${backup.createdAt})`,
    );
    return ExitCode.Ok;
  },
};

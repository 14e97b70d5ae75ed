import type { ResolvedAutoMigrationOptions } from '../../auto-migration.options';
import { newestBackupName } from '../../backup/backup-listing';
import type { CauseContext } from '../../errors/cause-advice';

/**
 * What the advice about a database that cannot be opened may name: the backup folder and its
 * newest backup of this database (a damaged file is restored from it). `BackupService` cannot be
 * asked here: it needs the connections being opened.
 */
export function openCauseContext(options: ResolvedAutoMigrationOptions): CauseContext {
  if (!options.backup || options.inMemory) return {};
  const folder = options.backup.dir;
  let newest: string | null = null;
  try {
    newest = newestBackupName(folder, options.database);
  } catch {
    // No folder yet, or an unreadable one: no backup to name.
  }
  return { backups: { folder, newest } };
}

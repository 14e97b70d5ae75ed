import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BackupFile, parseBackupFileName } from './backup-name';

/** A backup as status reports it. */
export interface BackupInfo extends BackupFile {
  readonly sizeBytes: number;
}

/**
 * This database's backups in `folder`, oldest first: files named as its backups, and regular
 * files only (lstat: a link or a folder under a backup's name is never reused, named or
 * restored, whatever it points to). Throws when the folder cannot be read.
 */
export function listBackups(folder: string, database: string): BackupInfo[] {
  return readdirSync(folder)
    .map((name) => parseBackupFileName(database, name))
    .filter((b): b is BackupFile => b !== null)
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .flatMap((b) => {
      try {
        const stats = lstatSync(join(folder, b.file));
        return stats.isFile() ? [{ ...b, sizeBytes: stats.size }] : [];
      } catch {
        return []; // pruned by another replica meanwhile
      }
    });
}

/** The file name of this database's newest backup in `folder`, or null when it has none. Throws when the folder cannot be read. */
export function newestBackupName(folder: string, database: string): string | null {
  return listBackups(folder, database).at(-1)?.file ?? null;
}

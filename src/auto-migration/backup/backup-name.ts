import { basename } from 'node:path';

/** A backup of this database in the backup folder, as its file name describes it. */
export interface BackupFile {
  /** File name only (never a path: status and errors show it). */
  readonly file: string;
  /** ISO-8601 UTC time the backup was taken. */
  readonly createdAt: string;
  /** Newest migration applied in the backup, or null for a database with none. */
  readonly newestMigration: string | null;
}

const NO_MIGRATION = 'none';

/**
 * `<database file name>.<UTC time stamp>.<newest applied migration>.backup`, e.g.
 * `app.db.20261128T120000123Z.003_add_index.backup`: it names its database (so two databases can
 * share a folder, and retention touches only this one's), sorts by time, and says which schema it
 * holds.
 */
export function backupFileName(database: string, createdAt: Date, newestMigration: string | null): string {
  const stamp = createdAt.toISOString().replace(/[-:.]/g, '');
  return `${basename(database)}.${stamp}.${newestMigration ?? NO_MIGRATION}.backup`;
}

/** Reads a file name written by `backupFileName` for this database; null for any other file. */
export function parseBackupFileName(database: string, file: string): BackupFile | null {
  const prefix = `${basename(database)}.`;
  if (!file.startsWith(prefix) || !file.endsWith('.backup')) return null;
  const match = /^(\d{8})T(\d{6})(\d{3})Z\.([A-Za-z0-9_.-]+)\.backup$/.exec(file.slice(prefix.length));
  if (!match) return null;
  const [, day, time, ms, newest] = match;
  const createdAt = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4)}.${ms}Z`;
  if (Number.isNaN(Date.parse(createdAt))) return null;
  return { file, createdAt, newestMigration: newest === NO_MIGRATION ? null : newest };
}

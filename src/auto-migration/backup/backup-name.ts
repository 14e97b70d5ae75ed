import { basename } from 'node:path';

/** A backup of this database in the backup folder, as its file name describes it. */
export interface BackupFile {
  /** File name only (never a path: status and errors show it). */
  readonly file: string;
  /** ISO-8601 UTC time the backup was taken. */
  readonly createdAt: string;
  /** Newest migration applied in the backup (its first 64 characters), or null for a database with none. */
  readonly newestMigration: string | null;
}

const NO_MIGRATION = 'none';
/** Migration names may be long; file names may not (255 bytes on most file systems). */
const MAX_MIGRATION_PART = 64;

/**
 * `<database file name>.<UTC time stamp>.<newest applied migration>.backup`, e.g.
 * `app.db.20261128T120000123Z.003_add_index.backup`: it names its database (so two databases can
 * share a folder, and retention touches only this one's), sorts by time, and says which schema it
 * holds.
 */
export function backupFileName(database: string, createdAt: Date, newestMigration: string | null): string {
  const stamp = createdAt.toISOString().replace(/[-:.]/g, '');
  const migration = (newestMigration ?? NO_MIGRATION).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_MIGRATION_PART);
  return `${basename(database)}.${stamp}.${migration}.backup`;
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

const DIGEST_SUFFIX = '.sha256';

/**
 * The file beside a backup holding its SHA-256, in `sha256sum` format (`sha256sum -c` checks it
 * in the backup folder). Retention compares states by it without reading every backup again.
 */
export function digestFileName(file: string): string {
  return file + DIGEST_SUFFIX;
}

/** The backup a digest file of this database belongs to, or null for any other file. */
export function backupOfDigest(database: string, name: string): string | null {
  if (!name.endsWith(DIGEST_SUFFIX)) return null;
  const file = name.slice(0, -DIGEST_SUFFIX.length);
  return parseBackupFileName(database, file) === null ? null : file;
}

/** The temporary name a backup is written under before it is renamed into place. */
export function temporaryBackupName(file: string): string {
  return `.${file}.${process.pid}.tmp`;
}

/** Whether `name` is a temporary copy of one of this database's backups (or its journal). */
export function isTemporaryBackupName(database: string, name: string): boolean {
  const match = /^\.(.+)\.\d+\.tmp(?:-journal|-wal|-shm)?$/.exec(name);
  return match !== null && parseBackupFileName(database, match[1]) !== null;
}

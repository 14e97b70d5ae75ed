import { existsSync, statfsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_BACKUP_DIR_NAME } from '../auto-migration.constants';

/** What a database failure means for the operator, whatever statement hit it. */
export type CauseKind = 'damaged' | 'full' | 'read-only' | 'busy' | 'cannot-open' | 'io' | 'other';

/** What the code that caught a failure knows, so that the advice can name files, folders and sizes. */
export interface CauseContext {
  /** The database file involved. */
  readonly database?: string;
  /** This database's backup folder and its newest backup's file name (null when it has none). */
  readonly backups?: { readonly folder: string; readonly newest: string | null };
  /**
   * Where a write ran out of room, how much it needs there and why (default: the database's
   * folder, and a migration's needs: its new data plus a journal of up to the database's size).
   * `backupDir` says that the folder is the `backup.dir` option's.
   */
  readonly space?: { readonly folder: string; readonly needsBytes: number; readonly what: string; readonly basis: string; readonly backupDir?: boolean };
}

/**
 * SQLite's result codes (the SQLite client puts them, extended ones included, on `code`), and
 * Node's for the file operations around them. Primary code first: `SQLITE_IOERR_WRITE` is an I/O error.
 */
const BY_CODE: readonly [RegExp, CauseKind][] = [
  [/^SQLITE_(CORRUPT|NOTADB)/, 'damaged'],
  [/^SQLITE_FULL|^ENOSPC$|^EDQUOT$/, 'full'],
  [/^SQLITE_(READONLY|PERM)|^E(ROFS|ACCES|PERM)$/, 'read-only'],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_CANTOPEN|^ENOENT$|^ENOTDIR$/, 'cannot-open'],
  [/^SQLITE_IOERR|^EIO$/, 'io'],
];

/**
 * SQLite's own texts for those codes, for causes that lost their `code` on the way (re-thrown
 * as a plain Error, or our own check of a file's header).
 */
const BY_MESSAGE: readonly [RegExp, CauseKind, string][] = [
  [/database disk image is malformed/i, 'damaged', 'SQLITE_CORRUPT'],
  [/file is not a database/i, 'damaged', 'SQLITE_NOTADB'],
  [/database or disk is full/i, 'full', 'SQLITE_FULL'],
  [/attempt to write a readonly database/i, 'read-only', 'SQLITE_READONLY'],
  [/database (table )?is locked/i, 'busy', 'SQLITE_BUSY'],
  [/unable to open database file/i, 'cannot-open', 'SQLITE_CANTOPEN'],
  [/disk I\/O error/i, 'io', 'SQLITE_IOERR'],
];

/** How far down `cause` chains to look for a code: our wrappers nest one or two deep. */
const MAX_DEPTH = 5;

/** The kind of a failure and the code it was known by (null for an error of a migration's own code). */
export function classifyCause(cause: unknown): { kind: CauseKind; code: string | null } {
  let current = cause;
  for (let depth = 0; depth < MAX_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      const match = BY_CODE.find(([pattern]) => pattern.test(code));
      if (match) return { kind: match[1], code };
    }
    current = (current as { cause?: unknown }).cause;
  }
  const message = String((cause as { message?: unknown } | null)?.message ?? cause);
  const match = BY_MESSAGE.find(([pattern]) => pattern.test(message));
  return match ? { kind: match[1], code: match[2] } : { kind: 'other', code: null };
}

/**
 * What to do about a failure caused by the database or its disk rather than by a migration's
 * code, or null for a cause of kind `other` (the caller's own advice applies then). The one
 * place every error wrapping a database cause takes its advice from.
 */
export function causeAdvice(cause: unknown, context: CauseContext = {}): string | null {
  const { kind, code } = classifyCause(cause);
  const database = context.database ? `"${context.database}"` : 'the database file';
  switch (kind) {
    case 'damaged':
      return `${capitalise(database)} is damaged (${code}): do not let anything write to it. ${code === 'SQLITE_NOTADB' ? replaceByHandAdvice(context) : restoreAdvice(context)}`;
    case 'full':
      return `Out of disk space (${code})${spaceAdvice(context)}, then start again.`;
    case 'read-only': {
      const path = pathOf(cause) ?? context.database;
      return (
        `${path ? `"${path}"` : 'The database file'} cannot be written by this process (${code}; it runs as ${whoAmI()}). ` +
        'Give that user write permission on the database file and its folder (SQLite writes its journal beside the file), or remount the file system read-write, then restart.'
      );
    }
    case 'busy':
      return (
        `Another connection held a lock on ${database} for longer than the busy timeout (${code}): find it (a long job or an open transaction in the app, ` +
        'a sqlite3 shell, a backup tool; `nest-auto-migration status` names a process holding the migration lock), let it finish, or raise pragmas.busy_timeout.'
      );
    case 'cannot-open': {
      const path = pathOf(cause) ?? context.database;
      return `${path ? `"${path}"` : 'The database file'} could not be opened (${code}): check that the path is right, that its folder exists, and that ${whoAmI()} may read and write both.`;
    }
    case 'io':
      return `The file system reported an I/O error (${code}): check the disk and the kernel log, then restart; if SQLite then reports the database as damaged, restore a backup.`;
    default:
      return null;
  }
}

/** Bytes for people: KiB below a MiB, so that a small database never reads as "0.1 MiB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Free bytes for this process in `folder`, or null when it cannot be asked. */
export function freeBytes(folder: string): number | null {
  try {
    const stats = statfsSync(folder);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

function restoreAdvice({ backups }: CauseContext): string {
  if (backups?.newest) {
    return `Restore its newest backup, ${backups.newest} (in ${backups.folder}): \`nest-auto-migration restore ${backups.newest} --force\` (the damaged file is kept as a raw copy beside the backups).`;
  }
  if (backups) return `It has no backup in ${backups.folder}: recover what you can into a new file with the sqlite3 shell's .recover command.`;
  return 'Restore a backup: `nest-auto-migration status` names the newest, then run `nest-auto-migration restore <file> --force`.';
}

/**
 * A file that is not a database at all cannot be opened by anything, the module included, so
 * `restore` (which boots it) cannot run: the operator puts the newest backup in its place by
 * hand, keeping the damaged file and taking its journal files with it (SQLite would apply a
 * leftover -wal or -journal to the file put in its place).
 */
function replaceByHandAdvice({ database, backups }: CauseContext): string {
  const why =
    'It is not a SQLite database at all (its header is garbled), so nothing can open it, `nest-auto-migration restore` and `status` included: put a backup in its place by hand.';
  if (!database)
    return `${why} With the application stopped, move the damaged file (and its -wal, -shm or -journal file) aside, then copy the newest backup from the backup folder to the database's path.`;
  if (backups && !backups.newest) {
    return (
      `${why} But it has no backup in ${backups.folder}: if only its first 16 bytes are damaged, a copy of it with them set back to "SQLite format 3\\0" may open, ` +
      "then recover what you can into a new file with the sqlite3 shell's .recover command."
    );
  }
  // Time-stamped, so that an earlier damaged copy is never overwritten; SQLite's suffixes kept, so the set still opens together.
  const damaged = `${database}.damaged-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
  const companions = ['-wal', '-shm', '-journal'].filter((suffix) => existsSync(database + suffix));
  const aside = ['', ...companions].map((suffix) => `mv ${shellWord(database + suffix)} ${shellWord(damaged + suffix)}`);
  const keep =
    `the damaged file is kept as ${basename(damaged)}` +
    (companions.length > 0
      ? `, its ${companions.join(', ')} file${companions.length > 1 ? 's' : ''} with it (SQLite would apply a leftover journal to the file put in its place)`
      : '');
  const start = 'then start the application (`nest-auto-migration status` shows the restored state)';
  if (backups?.newest) {
    const source = join(backups.folder, backups.newest);
    return (
      `${why} With every instance of the application stopped, as the user it runs as: \`${[...aside, `cp ${shellWord(source)} ${shellWord(database)}`].join(' && ')}\` ` +
      `(its newest backup, ${backups.newest}, from ${backups.folder}; \`sha256sum -c ${shellWord(`${backups.newest}.sha256`)}\` in that folder checks it first; ${keep}), ${start}.`
    );
  }
  const folder = join(dirname(database), DEFAULT_BACKUP_DIR_NAME);
  return (
    `${why} With every instance of the application stopped, as the user it runs as: \`${aside.join(' && ')}\` (${keep}), then copy its newest backup to ${shellWord(database)}: ` +
    `the last ${basename(database)}.<time>.<migration>.backup in the backup folder (backup.dir; by default ${folder}), ${start}.`
  );
}

/** A path as one word of a POSIX shell command, whatever characters it holds. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function spaceAdvice({ database, space }: CauseContext): string {
  const folder = space?.folder ?? (database ? dirname(database) : null);
  if (!folder) return ' on the disk holding the database: free space there';
  const free = freeBytes(folder);
  const has = `${folder} has ${free === null ? 'too little' : formatSize(free)} free`;
  const more = `Free space there${space?.backupDir ? ' or set backup.dir to a folder on a larger disk' : ''}`;
  if (space) return `: ${space.what} needs about ${formatSize(space.needsBytes)} (${space.basis}) but ${has}. ${more}`;
  // A migration's new data is not bounded by anything known here: only the journal's share is.
  const journal = database ? fileSize(database) : null;
  const needs =
    'the migration needs room for the new data it writes (twice in WAL mode: in the -wal file, then in the database)' +
    (journal === null ? " plus SQLite's journal" : ` plus up to ${formatSize(journal)} for SQLite's journal (the database's size)`);
  return `: ${needs}, but ${has}. ${more}`;
}

/** A file's size in bytes, or null when it cannot be read (gone, or never created). */
export function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/** Node's file errors name the path they failed on. */
function pathOf(cause: unknown): string | undefined {
  const path = (cause as { path?: unknown } | null)?.path;
  return typeof path === 'string' ? path : undefined;
}

function whoAmI(): string {
  try {
    const { username, uid } = userInfo();
    return uid >= 0 ? `user ${username} (uid ${uid})` : `user ${username}`;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

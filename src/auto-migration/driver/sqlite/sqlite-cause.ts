import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_BACKUP_DIR_NAME } from '../../auto-migration.constants';
import {
  type CauseClassifier,
  type CauseContext,
  type CauseKind,
  type ClassifiedCause,
  damagedAdvice,
  freeSpaceIn,
  readOnlyAdvice,
} from '../../errors/cause-advice';
import { fileSize, formatSize } from '../../errors/disk-space';

/**
 * SQLite's result codes (the SQLite client puts them, extended ones included, on `code`).
 * Primary code first: `SQLITE_IOERR_WRITE` is an I/O error.
 */
const BY_CODE: readonly [RegExp, CauseKind][] = [
  [/^SQLITE_(CORRUPT|NOTADB)/, 'damaged'],
  [/^SQLITE_FULL/, 'full'],
  [/^SQLITE_(READONLY|PERM)/, 'read-only'],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_CANTOPEN/, 'cannot-open'],
  [/^SQLITE_IOERR/, 'io'],
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

/** What is left to do for a damaged database that has no backup. */
const RECOVER = "recover what you can into a new file with the sqlite3 shell's .recover command.";

/** SQLite's failures and what to do about them with SQLite's files and tools; registered by the SQLite driver. */
export const sqliteCauses: CauseClassifier = {
  classify(cause: object): ClassifiedCause | null {
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== 'string') return null;
    const match = BY_CODE.find(([pattern]) => pattern.test(code));
    return match ? { kind: match[1], code } : null;
  },

  classifyMessage(message: string): ClassifiedCause | null {
    const match = BY_MESSAGE.find(([pattern]) => pattern.test(message));
    return match ? { kind: match[1], code: match[2] } : null;
  },

  advice(kind: CauseKind, code: string, cause: unknown, context: CauseContext): string | null {
    switch (kind) {
      case 'damaged':
        if (code === 'SQLITE_NOTADB') return damagedAdvice(code, context, replaceByHandAdvice(context));
        return context.backups && !context.backups.newest ? damagedAdvice(code, context, `It has no backup in ${context.backups.folder}: ${RECOVER}`) : null;
      case 'full':
        return context.space || !context.database ? null : `Out of disk space (${code})${journalSpaceAdvice(context.database)}, then start again.`;
      case 'read-only':
        return readOnlyAdvice(code, cause, context, ' (SQLite writes its journal beside the file)');
      case 'busy':
        return (
          `Another connection held a lock on ${context.database ? `"${context.database}"` : 'the database file'} for longer than the busy timeout (${code}): find it (a long job or an open transaction in the app, ` +
          'a sqlite3 shell, a backup tool; `nest-auto-migration status` names a process holding the migration lock), let it finish, or raise pragmas.busy_timeout.'
        );
      case 'io':
        return `The file system reported an I/O error (${code}): check the disk and the kernel log, then restart; if SQLite then reports the database as damaged, restore a backup.`;
      default:
        return null;
    }
  },
};

/**
 * A file that is not a database at all cannot be opened by anything, the module included, so
 * `restore` (which boots it) cannot run: the operator puts the newest backup in its place by
 * hand, keeping the damaged file and taking its journal files with it (SQLite would apply a
 * leftover -wal or -journal to the file put in its place).
 */
function replaceByHandAdvice({ database, backups }: CauseContext): string {
  const why =
    'If that path is not your database at all (a wrong `database` option naming another file), correct the option: nothing was written to it. ' +
    'Otherwise it is not a SQLite database any more (its header is garbled), so nothing can open it, `nest-auto-migration restore` and `status` included: put a backup in its place by hand.';
  if (!database)
    return `${why} With the application stopped, move the damaged file (and its -wal, -shm or -journal file) aside, then copy the newest backup from the backup folder to the database's path.`;
  if (backups && !backups.newest) {
    return (
      `${why} But it has no backup in ${backups.folder}: if only its first 16 bytes are damaged, a copy of it with them set back to "SQLite format 3\\0" may open, ` +
      `then ${RECOVER}`
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

/**
 * A migration's room, when the caller knows no better: its new data is not bounded by anything
 * known here, only the journal's share is (up to the database's size).
 */
function journalSpaceAdvice(database: string): string {
  const journal = fileSize(database);
  const needs =
    'the migration needs room for the new data it writes (twice in WAL mode: in the -wal file, then in the database)' +
    (journal === null ? " plus SQLite's journal" : ` plus up to ${formatSize(journal)} for SQLite's journal (the database's size)`);
  return `: ${needs}, but ${freeSpaceIn(dirname(database))}. Free space there`;
}

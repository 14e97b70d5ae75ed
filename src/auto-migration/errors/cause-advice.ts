import { userInfo } from 'node:os';
import { formatSize, freeBytes } from './disk-space';

/** What a database failure means for the operator, whatever statement hit it. */
export type CauseKind = 'damaged' | 'full' | 'read-only' | 'busy' | 'cannot-open' | 'io' | 'other';

/** What the code that caught a failure knows, so that the advice can name files, folders and sizes. */
export interface CauseContext {
  /** The database involved, as its driver names it. */
  readonly database?: string;
  /** This database's backup folder and its newest backup's file name (null when it has none). */
  readonly backups?: { readonly folder: string; readonly newest: string | null };
  /**
   * Where a write ran out of room, how much it needs there and why (without it, the database's
   * driver may estimate a migration's needs itself). `backupDir` says that the folder is the
   * `backup.dir` option's.
   */
  readonly space?: { readonly folder: string; readonly needsBytes: number; readonly what: string; readonly basis: string; readonly backupDir?: boolean };
}

/** A failure's kind and the code its database (or Node) knows it by. */
export interface ClassifiedCause {
  readonly kind: CauseKind;
  readonly code: string;
}

/**
 * How one database reads its own failures, registered by its driver when the driver loads: its
 * codes, its texts for causes that lost their code, and advice in its own terms. Only the
 * classifier that recognised a cause is asked for advice about it.
 */
export interface CauseClassifier {
  /** One object of a cause chain, by its code; null when this database did not raise it. */
  classify(cause: object): ClassifiedCause | null;
  /** A message alone, for a cause that lost its code on the way (re-thrown as a plain Error, or the driver's own check). */
  classifyMessage?(message: string): ClassifiedCause | null;
  /** What to do about a cause this classifier recognised, or null for the advice every database shares. */
  advice?(kind: CauseKind, code: string, cause: unknown, context: CauseContext): string | null;
}

const classifiers: CauseClassifier[] = [];

/** Makes `classifyCause` and `causeAdvice` know a database's failures. Registering one again changes nothing. */
export function registerCauseClassifier(classifier: CauseClassifier): void {
  if (!classifiers.includes(classifier)) classifiers.push(classifier);
}

/** Node's codes for the file operations around any database: its files, backups and lock files. */
const NODE_CODES: ReadonlyMap<string, CauseKind> = new Map([
  ['ENOSPC', 'full'],
  ['EDQUOT', 'full'],
  ['EROFS', 'read-only'],
  ['EACCES', 'read-only'],
  ['EPERM', 'read-only'],
  ['ENOENT', 'cannot-open'],
  ['ENOTDIR', 'cannot-open'],
  ['EIO', 'io'],
]);

/** How far down `cause` chains to look for a code: our wrappers nest one or two deep. */
const MAX_DEPTH = 5;

/** The kind of a failure and the code it was known by (null for an error of a migration's own code). */
export function classifyCause(cause: unknown): { kind: CauseKind; code: string | null } {
  const { kind, code } = classified(cause);
  return { kind, code };
}

/**
 * What to do about a failure caused by the database or its disk rather than by a migration's
 * code, or null for a cause of kind `other` (the caller's own advice applies then). The one
 * place every error wrapping a database cause takes its advice from.
 */
export function causeAdvice(cause: unknown, context: CauseContext = {}): string | null {
  const { kind, code, by } = classified(cause);
  if (code === null) return null;
  // A database may know what to do about a code of its own that fits no kind (PostgreSQL: "cannot run inside a transaction block").
  const own = by?.advice?.(kind, code, cause, context);
  if (own) return own;
  switch (kind) {
    case 'other':
      return null;
    case 'damaged':
      return damagedAdvice(code, context);
    case 'full':
      return `Out of disk space (${code})${context.space ? spaceAdvice(context.space) : ' on the disk holding the database: free space there'}, then start again.`;
    case 'read-only':
      return readOnlyAdvice(code, cause, context);
    case 'busy':
      return (
        `Another connection held a lock on ${databaseName(context)} for longer than this connection waits for one (${code}): find it (a long job or an open transaction in the app, ` +
        'a backup tool; `nest-auto-migration status` names a process holding the migration lock) and let it finish, then try again.'
      );
    case 'cannot-open': {
      const path = pathOf(cause) ?? context.database;
      return `${path ? `"${path}"` : 'The database'} could not be opened (${code}): check that the path is right, that its folder exists, and that ${whoAmI()} may read and write both.`;
    }
    case 'io':
      return `The file system reported an I/O error (${code}): check the disk and the kernel log, then restart; if the database is then reported as damaged, restore a backup.`;
  }
}

/**
 * A damaged database: nothing may write to it, and `next` says how to get a sound one back
 * (by default: restore its newest backup with the CLI).
 */
export function damagedAdvice(code: string, context: CauseContext, next: string = restoreAdvice(context)): string {
  return `${capitalise(databaseName(context))} is damaged (${code}): do not let anything write to it. ${next}`;
}

/** A file this process may not write: the path, the user it runs as, and what gives it the right; `why` explains the folder. */
export function readOnlyAdvice(code: string, cause: unknown, context: CauseContext, why = ''): string {
  const path = pathOf(cause) ?? context.database;
  return (
    `${path ? `"${path}"` : 'The database file'} cannot be written by this process (${code}; it runs as ${whoAmI()}). ` +
    `Give that user write permission on the database file and its folder${why}, or remount the file system read-write, then restart.`
  );
}

/** How much room `folder` has left, for advice about a full disk. */
export function freeSpaceIn(folder: string): string {
  const free = freeBytes(folder);
  return `${folder} has ${free === null ? 'too little' : formatSize(free)} free`;
}

function restoreAdvice({ backups }: CauseContext): string {
  if (backups?.newest) {
    return `Restore its newest backup, ${backups.newest} (in ${backups.folder}): \`nest-auto-migration restore ${backups.newest} --force\` (the damaged file is kept as a raw copy beside the backups).`;
  }
  if (backups) return `It has no backup in ${backups.folder}: recover what you can into a new database with the database's own recovery tools.`;
  return 'Restore a backup: `nest-auto-migration status` names the newest, then run `nest-auto-migration restore <file> --force`.';
}

function spaceAdvice(space: NonNullable<CauseContext['space']>): string {
  const more = `Free space there${space.backupDir ? ' or set backup.dir to a folder on a larger disk' : ''}`;
  return `: ${space.what} needs about ${formatSize(space.needsBytes)} (${space.basis}) but ${freeSpaceIn(space.folder)}. ${more}`;
}

/** The kind, the code and the classifier that recognised it (none for Node's codes). */
function classified(cause: unknown): { kind: CauseKind; code: string | null; by?: CauseClassifier } {
  let current = cause;
  for (let depth = 0; depth < MAX_DEPTH && typeof current === 'object' && current !== null; depth++) {
    for (const by of classifiers) {
      const found = by.classify(current);
      if (found) return { ...found, by };
    }
    const code = (current as { code?: unknown }).code;
    const kind = typeof code === 'string' ? NODE_CODES.get(code) : undefined;
    if (kind) return { kind, code: code as string };
    current = (current as { cause?: unknown }).cause;
  }
  const message = String((cause as { message?: unknown } | null)?.message ?? cause);
  for (const by of classifiers) {
    const found = by.classifyMessage?.(message);
    if (found) return { ...found, by };
  }
  return { kind: 'other', code: null };
}

function databaseName({ database }: CauseContext): string {
  return database ? `"${database}"` : 'the database';
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

import type { MaybePromise } from './maybe-promise';
import type { MigrationSession } from './migration-session';
import type { RelationLock, SchemaInspector } from '../safety/schema-snapshot';

/**
 * Foreign-key enforcement a migration connection can switch off around a migration (SQLite: a
 * table rebuild must not cascade-delete child rows), and the violations it can count.
 */
export interface ForeignKeyControl {
  /** The statement an operator runs to list the violating rows (SQLite: `PRAGMA foreign_key_check`), for advice. */
  readonly violationCheck: string;
  /** Turns enforcement on or off (outside a transaction); returns the previous setting. */
  setForeignKeys(on: boolean): MaybePromise<boolean>;
  /**
   * Rows violating foreign keys right now, counted per table; `unchecked` lists tables whose
   * foreign keys cannot be checked (a parent key that is not unique).
   */
  foreignKeyViolations(): MaybePromise<{ counts: Map<string, number>; unchecked: string[] }>;
}

/** A database kept in files that can be copied, verified and put back: what the backup service works on. */
export interface FileBackups {
  /** The database's file: backup names derive from it. */
  readonly databasePath: string;
  /** Writes one consistent, complete copy of the database into `path` (an empty file that exists). */
  copyTo(path: string): MaybePromise<void>;
  /** Opens a copy read-only and checks it; throws unless it is sound. @returns the check run */
  verify(path: string, mode: 'quick' | 'full'): MaybePromise<'quick_check' | 'integrity_check'>;
  /** The database's size on disk, with its journal files: what a copy of it may take. */
  sizeBytes(): number;
  /** The database's own files as they are (the main file, and a write-ahead log if there is one), for a raw copy. */
  liveFiles(): string[];
  /** Puts the content of the copy at `path` in place of the live content, as a writer; gives up after `timeoutMs`. */
  restoreFrom(path: string, timeoutMs: number): Promise<void>;
}

/** What a failed `transaction: false` migration may leave behind that the database itself can list. */
export interface Leftovers {
  /** A sentence naming them and what to do, or null when there are none. */
  describe(): Promise<string | null>;
}

/** A statement a migration issued on a rehearsal copy, and when it started (`performance.now()`). */
export interface CapturedStatement {
  readonly sql: string;
  readonly at: number;
  /**
   * Locks on tables the session held once the statement had run (PostgreSQL, while
   * `RehearsalCopy.watchLocks` is on); absent where the database has none to tell.
   */
  locks?: RelationLock[];
}

/** A throwaway copy of the database that migrations can run on, with every statement captured. */
export interface RehearsalCopy {
  readonly session: MigrationSession;
  readonly foreignKeys?: ForeignKeyControl;
  /** Where captured statements go; nothing is collected while it is null. */
  capture: CapturedStatement[] | null;
  /**
   * True when `transaction: false` migrations cannot run here (PostgreSQL: the "copy" is a
   * transaction of the live database, rolled back at the end): they are listed, not run.
   */
  readonly skipsUntransacted?: boolean;
  /** Reads the copy's schema and data, for the safety analysis; absent where a driver cannot (the analysis then refuses to run). */
  readonly inspector?: SchemaInspector;
  /**
   * While true, each captured statement gets the table locks held after it (`CapturedStatement.locks`),
   * at the cost of one catalog query per statement; the safety analysis turns it on. Ignored
   * where the database has no table locks (SQLite).
   */
  watchLocks?: boolean;
  /** Closes and removes the copy. */
  dispose(): Promise<void>;
}

/** Copies the database for a rehearsal or a dry run. */
export interface CopyRehearsal {
  /** What a "copy" is here, for the dry run's report: a copy of the database, or a transaction of the live one that is rolled back. */
  readonly kind: 'copy' | 'rolled-back transaction';
  /** A fresh copy in a new private folder inside `folder` (or the system's temporary folder). */
  openCopy(folder: string | null): Promise<RehearsalCopy>;
}

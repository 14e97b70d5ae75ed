import { chmodSync, constants, copyFileSync, existsSync, readdirSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { LOG_CONTEXT, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { DatabaseConnections } from '../database/database-connections';
import { describeCause } from '../errors/auto-migration.error';
import { BackupError, type BackupPurpose } from '../errors/backup.error';
import { MigrationEvents } from '../events/migration-events';
import { type BackupFile, backupFileName, isTemporaryBackupName, parseBackupFileName, temporaryBackupName } from './backup-name';
import { flush, makePrivateFolder } from './private-files';

/** A backup as status reports it. */
export interface BackupInfo extends BackupFile {
  readonly sizeBytes: number;
}

/** Room to leave beyond the database's own size: SQLite needs scratch pages while it copies. */
const FREE_SPACE_MARGIN = 1.1;

/**
 * Backups of this module's database: written before a run touches it (and before restores, and
 * any later operation that changes data), verified, private, retained.
 *
 * One consistent snapshot through `VACUUM INTO` (SQLite's step-wise online backup restarts
 * whenever another connection writes, so it may never finish on a busy database), written under
 * a temporary name (created 0600 first), checked with `PRAGMA quick_check` (or
 * `integrity_check`), flushed, then renamed into place, so a backup file that exists is always
 * complete. Temporary files left by a process that died mid-backup are removed by the next one.
 */
@Injectable()
export class BackupService {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly connections: DatabaseConnections,
    private readonly events: MigrationEvents,
  ) {}

  /** The backup folder, or null when backups are off (`backup: false`, `:memory:`). */
  get folder(): string | null {
    return this.options.backup && !this.options.inMemory ? this.options.backup.dir : null;
  }

  /**
   * Writes a verified backup, then prunes old ones (never `keep`, the file a restore is about to
   * use). Throws `BackupError`; the database is never touched. Call only when `folder` is set.
   */
  write(newestMigration: string | null, purpose: { before: BackupPurpose; keep?: string } = { before: 'run' }): BackupInfo {
    const folder = this.folder!;
    const started = performance.now();
    const createdAt = new Date();
    const file = backupFileName(this.options.database, createdAt, newestMigration);
    const path = join(folder, file);
    const temporary = join(folder, temporaryBackupName(file));
    let verifyMs = 0;
    let check: 'quick_check' | 'integrity_check' = 'quick_check';
    try {
      makePrivateFolder(folder);
      this.removeOrphans(folder);
      this.assertRoom(folder);
      // Created empty and private first: VACUUM INTO writes into an empty file as it finds it, so
      // the copy is never readable by others, even in a folder that is.
      writeFileSync(temporary, '', { mode: 0o600, flag: 'wx' });
      this.connections.migration.prepare('VACUUM INTO ?').run(temporary);
      const verifyStarted = performance.now();
      check = verify(temporary, this.options.backup ? this.options.backup.verify : 'quick');
      verifyMs = performance.now() - verifyStarted;
      flush(temporary);
      renameSync(temporary, path);
      flush(folder);
    } catch (cause) {
      removeQuietly(temporary);
      throw new BackupError(path, cause, purpose.before);
    }
    const info: BackupInfo = { file, createdAt: createdAt.toISOString(), newestMigration, sizeBytes: statSync(path).size };
    try {
      this.prune(purpose.keep);
    } catch (error) {
      // The new backup is written and verified: failing to delete an old one must not stop the run.
      this.logger.warn(`Could not remove an old backup: ${describeCause(error)}`);
    }
    this.events.emit({
      type: 'backup-written',
      file,
      sizeBytes: info.sizeBytes,
      durationMs: Math.round(performance.now() - started),
      verifyMs: Math.round(verifyMs),
      check,
    });
    return info;
  }

  /**
   * Copies the database's files as they are (main file and WAL), unverified, 0600, for a database
   * too damaged for `write()`. Named `<file>.<time>.raw` (and `.raw-wal`): never listed, never pruned.
   * @returns the file names written
   */
  rawCopy(): string[] {
    const folder = this.folder!;
    makePrivateFolder(folder);
    const base = `${basename(this.options.database)}.${new Date().toISOString().replace(/[-:.]/g, '')}.raw`;
    const written: string[] = [];
    for (const suffix of ['', '-wal']) {
      if (!existsSync(this.options.database + suffix)) continue;
      copyFileSync(this.options.database + suffix, join(folder, base + suffix), constants.COPYFILE_EXCL);
      chmodSync(join(folder, base + suffix), 0o600);
      written.push(base + suffix);
    }
    return written;
  }

  /** This database's backups in the folder, oldest first. Other files there are never listed. */
  list(): BackupInfo[] {
    const folder = this.folder;
    if (!folder || !existsSync(folder)) return [];
    return readdirSync(folder)
      .map((name) => parseBackupFileName(this.options.database, name))
      .filter((b): b is BackupFile => b !== null)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
      .flatMap((b) => {
        try {
          return [{ ...b, sizeBytes: statSync(join(folder, b.file)).size }];
        } catch {
          return []; // pruned by another replica meanwhile
        }
      });
  }

  /** The newest of this database's backups, or null. */
  latest(): BackupInfo | null {
    const all = this.list();
    return all[all.length - 1] ?? null;
  }

  /** Path of one of this database's backups by its plain file name, or null if there is none. */
  pathOf(file: string): string | null {
    const folder = this.folder;
    if (!folder || !this.list().some((b) => b.file === file)) return null;
    return join(folder, file);
  }

  /** Keeps the newest `backup.keep` of this database's backups (and `spare`); other files are never touched. */
  private prune(spare?: string): void {
    if (!this.options.backup) return;
    const all = this.list();
    for (const old of all.slice(0, Math.max(0, all.length - this.options.backup.keep))) {
      if (old.file !== spare) rmSync(join(this.options.backup.dir, old.file), { force: true });
    }
  }

  /**
   * Temporary copies of this database's backups left by a process that died mid-backup. Backups
   * are written only under the migration lock, which we hold, so none of them is in progress.
   */
  private removeOrphans(folder: string): void {
    for (const name of readdirSync(folder)) {
      if (isTemporaryBackupName(this.options.database, name)) removeQuietly(join(folder, name));
    }
  }

  private assertRoom(folder: string): void {
    const size = ['', '-wal'].reduce((sum, suffix) => sum + fileSize(this.options.database + suffix), 0);
    const stats = statfsSync(folder);
    const available = stats.bavail * stats.bsize;
    if (available < size * FREE_SPACE_MARGIN) {
      throw new Error(`not enough free space in the backup folder: the database needs about ${mib(size * FREE_SPACE_MARGIN)}, ${mib(available)} available`);
    }
  }
}

/** Opens a backup read-only and runs SQLite's check on it; throws unless it answers "ok". @returns the check run */
export function verify(path: string, mode: 'quick' | 'full'): 'quick_check' | 'integrity_check' {
  const check = mode === 'full' ? 'integrity_check' : 'quick_check';
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma(check, { simple: true });
    if (result !== 'ok') throw new Error(`the copy failed SQLite's ${check}: ${String(result)}`);
    return check;
  } catch (error) {
    throw new Error(`"${path}" is not a sound SQLite database: ${describeCause(error)}`);
  } finally {
    db.close();
  }
}

/** Cleanup after a failure must not replace the failure (a path under a file gives ENOTDIR). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Nothing was written there, or it is not ours to fix.
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

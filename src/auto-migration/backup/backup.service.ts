import { chmodSync, constants, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import type { FileBackups } from '../driver/capabilities';
import type { DatabaseDriver } from '../driver/database-driver';
import { describeCause } from '../errors/auto-migration.error';
import { BackupFailedError, type BackupPurpose } from '../errors/backup-failed.error';
import type { CauseContext } from '../errors/cause-advice';
import { freeBytes } from '../errors/disk-space';
import { MigrationEvents } from '../events/migration-events';
import { type BackupInfo, listBackups } from './backup-listing';
import { backupFileName, backupOfDigest, digestFileName, isTemporaryBackupName, temporaryBackupName } from './backup-name';
import { sha256OfFile } from './file-digest';
import { flush, makePrivateFolder } from './private-files';
import { MigrationLogger } from '../logging/migration-logger';

/** A backup that `write()` returns. */
export interface WrittenBackup extends BackupInfo {
  /** True when the newest backup already held this exact state: it is returned, and no copy was written. */
  readonly reused: boolean;
}

/** Room to leave beyond the database's own size: a copy needs scratch space while it is written (SQLite: pages). */
const FREE_SPACE_MARGIN = 1.1;

/**
 * Backups of this module's database: written before a run touches it (and before restores, and
 * any later operation that changes data), verified, private, retained.
 *
 * One consistent snapshot taken by the driver (`FileBackups.copyTo`), written under a temporary
 * name (created 0600 first), checked (`quick_check`, or `integrity_check`), flushed, then renamed
 * into place, so a backup file that exists is always complete. Temporary files left by a process
 * that died mid-backup are removed by the next one. A database the driver cannot back up as files
 * (`:memory:`) has no backups.
 */
@Injectable()
export class BackupService {
  /** The database as files, or undefined when it cannot be backed up as files (`:memory:`). */
  private readonly files?: FileBackups;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) driver: DatabaseDriver,
    private readonly events: MigrationEvents,
    // Built by itself (the backup benchmark), the service logs as the default instance.
    private readonly logger: MigrationLogger = new MigrationLogger(),
  ) {
    this.files = driver.fileBackups;
  }

  /** The last backup the hook took in this process (PostgreSQL `backup: { run }`): the hook's backups are not files to list. */
  private hooked: BackupInfo | null = null;

  /** Whether a run backs the database up first: to files, or through the user's hook. */
  get enabled(): boolean {
    return this.folder !== null || this.options.backupHook !== null;
  }

  /**
   * Takes the run's backup: through the user's hook when there is one (PostgreSQL), else as a
   * verified file. Throws `BackupFailedError`; the database is never touched.
   */
  async beforeRun(newestMigration: string | null, pending: readonly string[]): Promise<void> {
    const hook = this.options.backupHook;
    if (!hook) {
      await this.write(newestMigration);
      return;
    }
    const started = performance.now();
    let result: Awaited<ReturnType<typeof hook.run>>;
    try {
      result = await hook.run({ newestMigration, pending: [...pending] });
    } catch (cause) {
      throw new BackupFailedError('backup.run', cause);
    }
    const createdAt = new Date().toISOString();
    const file = result?.id ?? `backup.run at ${createdAt}`;
    this.hooked = { file, createdAt, newestMigration, sizeBytes: result?.sizeBytes ?? 0 };
    this.events.emit({
      type: 'backup-written',
      file,
      sizeBytes: this.hooked.sizeBytes,
      durationMs: Math.round(performance.now() - started),
      verifyMs: 0,
      check: 'none',
      reused: false,
    });
  }

  /** The backup folder, or null when backups are off (`backup: false`, `:memory:`). */
  get folder(): string | null {
    return this.options.backup && this.files ? this.options.backup.dir : null;
  }

  /**
   * Writes a verified backup, then prunes old ones (never `keep`, the file a restore is about to
   * use). When the newest backup already holds exactly this state (byte for byte: a crash loop of
   * a failing release changes nothing between starts), the copy is dropped and that backup is
   * returned instead, so identical copies never push older states out of retention. Throws
   * `BackupFailedError`; the database is never touched. Call only when `folder` is set.
   */
  async write(newestMigration: string | null, purpose: { before: BackupPurpose; keep?: string } = { before: 'run' }): Promise<WrittenBackup> {
    const folder = this.folder!;
    const files = this.files!;
    const started = performance.now();
    const createdAt = new Date();
    const file = backupFileName(this.options.database, createdAt, newestMigration);
    const path = join(folder, file);
    const temporary = join(folder, temporaryBackupName(file));
    let verifyMs = 0;
    let check: 'quick_check' | 'integrity_check' = 'quick_check';
    let existing: BackupInfo | null;
    try {
      makePrivateFolder(folder);
      this.removeOrphans(folder);
      this.assertRoom(folder);
      // Created empty and private first: the driver's copy (SQLite: VACUUM INTO) writes into an
      // empty file as it finds it, so the copy is never readable by others, even in a folder that is.
      writeFileSync(temporary, '', { mode: 0o600, flag: 'wx' });
      await files.copyTo(temporary);
      const verifyStarted = performance.now();
      check = await files.verify(temporary, this.options.backup ? this.options.backup.verify : 'quick');
      verifyMs = performance.now() - verifyStarted;
      // The driver's copy writes a state's content the same way every time (SQLite's VACUUM INTO,
      // whatever the journal mode or the pages' history), so equal bytes are equal states (a
      // header change counter is not: WAL mode does not maintain it).
      const digest = sha256OfFile(temporary);
      existing = this.newestHolding(digest, statSync(temporary).size);
      if (existing) {
        removeQuietly(temporary);
      } else {
        writeFileSync(join(folder, digestFileName(file)), `${digest}  ${file}\n`, { mode: 0o600 });
        flush(temporary);
        renameSync(temporary, path);
        flush(folder);
      }
    } catch (cause) {
      removeQuietly(temporary);
      throw new BackupFailedError(path, cause, purpose.before, {
        ...this.causeContext(),
        space: { folder, needsBytes: files.sizeBytes() * FREE_SPACE_MARGIN, what: 'the backup', basis: "the database's size plus 10 %", backupDir: true },
      });
    }
    const info: WrittenBackup = existing
      ? { ...existing, reused: true }
      : { file, createdAt: createdAt.toISOString(), newestMigration, sizeBytes: statSync(path).size, reused: false };
    if (!info.reused) {
      try {
        this.prune(purpose.keep);
      } catch (error) {
        // The new backup is written and verified: failing to delete an old one must not stop the run.
        this.logger.warn(`Could not remove an old backup: ${describeCause(error)}`);
      }
    }
    this.events.emit({
      type: 'backup-written',
      file: info.file,
      sizeBytes: info.sizeBytes,
      durationMs: Math.round(performance.now() - started),
      verifyMs: Math.round(verifyMs),
      check,
      reused: info.reused,
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
    const database = this.files!.databasePath;
    const base = `${basename(database)}.${new Date().toISOString().replace(/[-:.]/g, '')}.raw`;
    const written: string[] = [];
    for (const file of this.files!.liveFiles()) {
      const name = base + file.slice(database.length);
      copyFileSync(file, join(folder, name), constants.COPYFILE_EXCL);
      chmodSync(join(folder, name), 0o600);
      written.push(name);
    }
    return written;
  }

  /** This database's backups in the folder, oldest first. Other files there, and links, are never listed. */
  list(): BackupInfo[] {
    const folder = this.folder;
    if (!folder || !existsSync(folder)) return [];
    return listBackups(folder, this.options.database);
  }

  /** The newest of this database's backups, or null. With a hook: the one it took in this process, if any. */
  latest(): BackupInfo | null {
    if (this.options.backupHook) return this.hooked;
    const all = this.list();
    return all[all.length - 1] ?? null;
  }

  /** Path of one of this database's backups by its plain file name, or null if there is none. */
  pathOf(file: string): string | null {
    const folder = this.folder;
    if (!folder || !this.list().some((b) => b.file === file)) return null;
    return join(folder, file);
  }

  /**
   * Keeps `backup.keep` of this database's backups (and `spare`); other files are never touched.
   * Older copies of a state that a newer backup also holds go first, then the oldest: so the
   * newest `keep` distinct states always stay, whatever copies earlier releases left.
   */
  private prune(spare?: string): void {
    if (!this.options.backup) return;
    const all = this.list();
    const excess = all.length - this.options.backup.keep;
    if (excess <= 0) return;
    const newer = new Set<string>();
    const redundant: BackupInfo[] = [];
    for (const backup of [...all].reverse()) {
      const digest = this.digestOf(backup.file);
      if (newer.has(digest)) redundant.unshift(backup);
      newer.add(digest);
    }
    const order = [...redundant, ...all.filter((b) => !redundant.includes(b))];
    for (const old of order.filter((b) => b.file !== spare).slice(0, excess)) this.remove(old.file);
  }

  /**
   * The newest backup, if its bytes are exactly `digest`. Computed from the file, not from its
   * digest file: a backup damaged since it was written is never reused.
   */
  private newestHolding(digest: string, sizeBytes: number): BackupInfo | null {
    const newest = this.latest();
    if (!newest || newest.sizeBytes !== sizeBytes) return null;
    return sha256OfFile(join(this.folder!, newest.file)) === digest ? newest : null;
  }

  /** A backup's SHA-256 from its digest file; computed and stored once for a backup that has none (written by an earlier release). */
  private digestOf(file: string): string {
    const folder = this.folder!;
    const stored = join(folder, digestFileName(file));
    try {
      const digest = /^[0-9a-f]{64}/.exec(readFileSync(stored, 'utf8'))?.[0];
      if (digest) return digest;
    } catch {
      // No digest file yet: compute it.
    }
    const digest = sha256OfFile(join(folder, file));
    try {
      writeFileSync(stored, `${digest}  ${file}\n`, { mode: 0o600 });
    } catch {
      // Only a cache: the next prune computes it again.
    }
    return digest;
  }

  private remove(file: string): void {
    rmSync(join(this.folder!, file), { force: true });
    rmSync(join(this.folder!, digestFileName(file)), { force: true });
  }

  /**
   * Temporary copies of this database's backups left by a process that died mid-backup, and
   * digest files whose backup is gone. Backups are written only under the migration lock, which
   * we hold, so none of them is in progress.
   */
  private removeOrphans(folder: string): void {
    const names = readdirSync(folder);
    const present = new Set(names);
    for (const name of names) {
      const digested = backupOfDigest(this.options.database, name);
      if (isTemporaryBackupName(this.options.database, name) || (digested !== null && !present.has(digested))) removeQuietly(join(folder, name));
    }
  }

  private assertRoom(folder: string): void {
    const needs = this.files!.sizeBytes() * FREE_SPACE_MARGIN;
    const available = freeBytes(folder);
    if (available !== null && available < needs) {
      // The advice (BackupFailedError, from the code) says how much it needs and has: the numbers once.
      throw Object.assign(new Error('not enough free space in the backup folder'), { code: 'ENOSPC' });
    }
  }

  /**
   * What the advice about a failure of this database may name: the file, and (with backups on) the
   * backup folder and its newest backup. Reads the folder: for the moment of a failure.
   */
  causeContext(): CauseContext {
    if (this.options.inMemory) return {};
    const folder = this.folder;
    if (!folder) return { database: this.options.database };
    let newest: string | null = null;
    try {
      newest = this.latest()?.file ?? null;
    } catch {
      // An unreadable folder has no backup to name.
    }
    return { database: this.options.database, backups: { folder, newest } };
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

import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { LockOwner } from '../lease-store';

/** Who took the lock and when, as the holder file says. */
export interface HolderFileRecord {
  readonly owner: LockOwner;
  readonly since: string;
}

/**
 * `<lock file>.holder`: the lock holder's name, written the moment it takes the lock and removed
 * when it lets go. The lease row in the database says the same, but a writer that spilled its
 * page cache (a large migration, with a rollback journal) locks every reader out of the database
 * until its commit: this file, outside the database, still names it. Read only while the
 * operating-system lock is held, since a holder that died leaves its file behind.
 */
export class HolderFile {
  constructor(private readonly path: string) {}

  /** Best effort: the lock is what excludes others; without the file they only see less. */
  write(owner: LockOwner): boolean {
    const record: HolderFileRecord = { owner: { ...owner }, since: new Date().toISOString() };
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      this.removeOrphans();
      writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
      renameSync(temporary, this.path);
      return true;
    } catch {
      rmSync(temporary, { force: true });
      return false;
    }
  }

  /** The record, or null when there is none, it cannot be read, or it names a process of this host that is gone. */
  read(): HolderFileRecord | null {
    let record: HolderFileRecord;
    try {
      record = JSON.parse(readFileSync(this.path, 'utf8')) as HolderFileRecord;
    } catch {
      return null;
    }
    const owner = record?.owner;
    if (typeof owner?.host !== 'string' || typeof owner.pid !== 'number' || typeof record.since !== 'string') return null;
    if (owner.host === hostname() && !isAlive(owner.pid)) return null;
    return { owner: { host: owner.host, pid: owner.pid, instanceId: String(owner.instanceId ?? '') }, since: record.since };
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  /**
   * Changes whenever a holder takes the lock or gives it up: each write renames a new file into
   * place (a new inode and time), a release removes it. `-` while there is none.
   */
  stamp(): string {
    const stats = statSync(this.path, { throwIfNoEntry: false });
    return stats ? `${stats.ino}.${stats.mtimeMs}` : '-';
  }

  /**
   * Temporary files of holders that died between writing and renaming. Only the lock holder
   * writes, so while it holds the lock every other one is an orphan.
   */
  private removeOrphans(): void {
    const prefix = `${basename(this.path)}.`;
    for (const name of readdirSync(dirname(this.path))) {
      if (name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length))) rmSync(join(dirname(this.path), name), { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

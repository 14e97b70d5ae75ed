import type { LockOwner } from '../driver/lease-store';
import type { LockSession } from '../driver/migration-lock';

/** What the lease row says about the process holding the migration lock. */
export interface LockHolder {
  /** Who it is; null when it cannot be named yet (a holder of an earlier release that has not written the lease row). */
  readonly owner: LockOwner | null;
  /** How long it has held the lock, in milliseconds; null when its start is not known. */
  readonly heldForMs: number | null;
  /** When it took the lock (ISO-8601). */
  readonly since: string | null;
  /** Its last heartbeat (ISO-8601), from the lease row; null while that row cannot be read or was not written by this holder. */
  readonly heartbeatAt: string | null;
  /** The `transaction: false` migration it is running, if any. */
  readonly current: string | null;
  /** Its heartbeat is older than `lock.staleAfterMs`. */
  readonly suspect: boolean;
  /** PostgreSQL: its lock session's backend and what that session is doing. */
  readonly session?: LockSession;
}

/** "host/pid (instance abc) for 12 s, running 004_x", for log lines and error messages. */
export function describeHolder(holder: LockHolder | null): string {
  if (!holder?.owner) return 'another process (not identified yet: it has not written the lease row; it may be taking the backup)';
  const { host, pid, instanceId } = holder.owner;
  const since = holder.heldForMs === null ? '' : ` for ${Math.round(holder.heldForMs / 1000)} s`;
  const current = holder.current ? `, running ${holder.current}` : '';
  return `${host}/${pid} (instance ${instanceId})${since}${current}`;
}

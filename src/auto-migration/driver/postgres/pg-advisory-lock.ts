import { hostname } from 'node:os';
import type { PoolClient } from 'pg';
import type { LockOwner } from '../lease-store';
import type { LockHolderNote, LockRequest, MigrationLock } from '../migration-lock';
import { pollForLock } from '../poll-lock';
import type { PgConnections } from './pg-connections';
import { HOLDERS_OF_KEY, type PgLockKey } from './pg-lock-key';

/** The lock session tells the server's TCP keepalive to notice a vanished host within about 25 s (10 + 3 × 5). */
const KEEPALIVE = { idle: 10, interval: 5, count: 3 };
/**
 * `application_name` of the lock session names its owner, and the migration session's the same
 * owner: others read from `pg_stat_activity` who holds the lock and what its migration waits on.
 */
const OWNER_PREFIX = 'nam-lock';
const MIGRATION_PREFIX = 'nam-run';
/** PostgreSQL keeps the first 63 bytes of an application_name. */
const MAX_APPLICATION_NAME = 63;

/** The session holding the lock, as the fence compares it: its backend, and when that backend started (a pid is reused). */
export interface LockSessionIdentity {
  readonly pid: number;
  readonly backendStart: string;
}

/**
 * The migration lock on PostgreSQL: a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`
 * in the two-integer key space) taken by polling, never by the blocking `pg_advisory_lock`, and held
 * by a session of its own, idle in that transaction for the whole run. A waiter that blocked inside
 * PostgreSQL would hold a snapshot that `CREATE INDEX CONCURRENTLY` waits for; a session-level lock
 * would be shared by every client of a transaction pooler's backend. The transaction touches no
 * table and takes no snapshot, so it holds back neither VACUUM nor a concurrent index build; it
 * turns off `idle_in_transaction_session_timeout` for itself (a role default of a second would
 * otherwise end it and free the lock mid-run). A crash ends the session, and the lock with it.
 */
export class PgAdvisoryLock implements MigrationLock {
  private held: { session: PoolClient; identity: LockSessionIdentity; note: LockHolderNote } | null = null;

  constructor(
    private readonly connections: PgConnections,
    private readonly key: PgLockKey,
  ) {}

  /** `application_name` of the migration session while this process holds the lock (null when it does not). */
  get migrationSessionName(): string | null {
    return this.held ? applicationName(this.held.note.owner, MIGRATION_PREFIX) : null;
  }

  /** The lock session's identity while this process holds the lock: what the fence checks before each commit. */
  get identity(): LockSessionIdentity | null {
    return this.held?.identity ?? null;
  }

  async acquire({ owner, ...request }: LockRequest): Promise<boolean> {
    if (this.held) throw new Error('the migration lock is already held by this instance');
    const session = await this.connections.lock();
    const tryOnce = async () => {
      const identity = await this.tryLock(session, owner);
      if (identity) this.held = { session, identity, note: { owner, since: new Date().toISOString() } };
      return identity !== null;
    };
    return pollForLock(request, tryOnce, () => this.connections.endRun());
  }

  /** One attempt, in a transaction that stays open when it got the lock and is rolled back when not. */
  private async tryLock(session: PoolClient, owner: LockOwner): Promise<LockSessionIdentity | null> {
    const { idle, interval, count } = KEEPALIVE;
    const results = (await session.query(
      `BEGIN ISOLATION LEVEL READ COMMITTED;
SET LOCAL idle_in_transaction_session_timeout = 0;
SET LOCAL tcp_keepalives_idle = ${idle}; SET LOCAL tcp_keepalives_interval = ${interval}; SET LOCAL tcp_keepalives_count = ${count};
SET LOCAL application_name = ${literal(applicationName(owner))};
SELECT pg_try_advisory_xact_lock(${this.key.namespace}, ${this.key.key}) AS locked, pg_backend_pid() AS pid,
  (SELECT extract(epoch FROM backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS "backendStart"`,
    )) as unknown as { rows: { locked: boolean; pid: number; backendStart: string }[] }[];
    const { locked, pid, backendStart } = results[results.length - 1].rows[0];
    if (locked) return { pid, backendStart };
    await session.query('ROLLBACK');
    return null;
  }

  async release(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (!held) return;
    // Ending the session ends its transaction and the lock; the migration session goes with it.
    await this.connections.endRun();
  }

  async isHeld(): Promise<boolean> {
    if (this.held) return true;
    const answer = await this.connections.read(
      async (client) =>
        (await client.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 ${HOLDERS_OF_KEY}) AS held`, [this.key.namespace, this.key.key])).rows[0].held,
    );
    // A read that timed out cannot say: a held lock is the careful answer.
    return answer ?? true;
  }

  async holder(): Promise<LockHolderNote | null> {
    if (this.held) return { ...this.held.note, session: { backendPid: this.held.identity.pid, state: 'idle in transaction' } };
    const rows = await this.connections.read(
      async (client) =>
        (
          await client.query<{ pid: number; name: string | null; since: string | null; state: string | null; wait: string | null }>(
            `SELECT a.pid, a.application_name AS name, to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS since, a.state,
  CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || '/' || a.wait_event END AS wait
${HOLDERS_OF_KEY.replace('FROM pg_locks l', 'FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid')}`,
            [this.key.namespace, this.key.key],
          )
        ).rows,
    );
    const row = rows?.[0];
    const owner = row ? ownerOf(row.name) : null;
    if (!row || !owner) return null;
    // What its migration is doing says more than its lock session, idle in its transaction throughout.
    const migration = await this.connections.read(
      async (client) =>
        (
          await client.query<{ state: string | null; wait: string | null }>(
            `SELECT state, CASE WHEN wait_event IS NULL THEN NULL ELSE wait_event_type || '/' || wait_event END AS wait
FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() ORDER BY state = 'active' DESC LIMIT 1`,
            [applicationName(owner, MIGRATION_PREFIX)],
          )
        ).rows[0],
    );
    const activity = migration ?? row;
    return {
      owner,
      since: row.since ?? new Date().toISOString(),
      session: { backendPid: row.pid, state: activity.wait ? `${activity.state} (waiting on ${activity.wait})` : activity.state },
    };
  }
}

/** `nam-lock <pid> <instance> <host>`, cut to what PostgreSQL keeps. */
function applicationName(owner: LockOwner, prefix = OWNER_PREFIX): string {
  // PostgreSQL shows only printable ASCII of an application_name (the rest as "?"): the name is
  // made of it, so that it reads back exactly as written.
  return `${prefix} ${owner.pid} ${owner.instanceId} ${owner.host || hostname()}`.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_APPLICATION_NAME);
}

function ownerOf(name: string | null): LockOwner | null {
  const match = name ? new RegExp(`^${OWNER_PREFIX} (\\d+) (\\S+) (.+)$`).exec(name) : null;
  return match ? { pid: Number(match[1]), instanceId: match[2], host: match[3] } : null;
}

/** A SQL string literal: `SET` takes no parameters. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

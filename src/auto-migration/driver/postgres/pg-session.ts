import type { PoolClient } from 'pg';
import type { DdlOptions } from '../../auto-migration.options';
import { LockLostError } from '../../errors/lock-lost.error';
import type { MigrationSession } from '../migration-session';
import { registerScriptRunner } from '../script-runner';
import type { LockSessionIdentity, PgAdvisoryLock } from './pg-advisory-lock';
import type { PgConnections } from './pg-connections';
import { HOLDERS_OF_KEY, type PgLockKey } from './pg-lock-key';
import { quoteIdentifier } from './pg-schema';
import { splitStatements } from './pg-statements';

/** The savepoint the runner opens around each `up()`; a name no migration would choose. */
const MARK = 'nestjs_auto_migration_up';
/** SQLSTATE classes and codes after which the server has ended the session, and its transaction with it. */
const SESSION_GONE = /^(08|57P0[1-3])/;

/** The message of the fence's exception: how a COMMIT refused for a lost lock is told from any other failure. */
const LOCK_LOST_MARKER = 'nestjs-auto-migration: the migration lock was lost';

function lostDetail(identity: LockSessionIdentity): string {
  return `its lock session (backend ${identity.pid}) no longer holds it: it was terminated, or its connection dropped`;
}

/** `pg`'s transaction status (`I` idle, `T` in a transaction, `E` in a failed one), from pg 8.21. */
type WithStatus = { getTransactionStatus?: () => string | null };

/**
 * The migration session on PostgreSQL: the connection `up(db)` receives, and the runner's
 * transactions on it. Each transaction sets its own `lock_timeout`, `statement_timeout` and
 * `search_path` (`SET LOCAL`: nothing leaks to other clients of a pooler); before each commit it
 * checks that this process's lock session still holds the lock (the fence), and rolls back with
 * `LOCK_LOST` if not: a frozen process whose lock was taken over must not commit.
 */
export class PgSession implements MigrationSession {
  /** Our own idea of the transaction, for clients of pg before 8.21 (which cannot be asked). */
  private open = false;
  /** `begin()` opened the first mark with the transaction (one round trip fewer per migration): `openMark()` has nothing to send. */
  private markOpened = false;

  constructor(
    private readonly connections: PgConnections,
    private readonly lock: PgAdvisoryLock,
    private readonly key: PgLockKey,
    private readonly schema: string,
    private readonly ddl: Required<DdlOptions>,
  ) {}

  /** The migration session `up(db)` receives: a `pg` `PoolClient`. Open only during a run (its first step opens it). */
  get connection(): PoolClient {
    const client = this.connections.openMigration;
    if (!client) throw new Error('the migration session is not open: migrations run only inside a run');
    return client;
  }

  /** Opens the session, and tells the script runner how `.sql` files run on it. */
  async client(): Promise<PoolClient> {
    const client = await this.connections.migration();
    registerScriptRunner(client, (sql, { transaction }) => this.runScript(client, sql, transaction));
    return client;
  }

  assertIntact(): void {
    // PostgreSQL checks its own pages (data checksums, WAL): there is no cheap whole-database check to run here.
  }

  inTransaction(): boolean {
    const client = this.connections.openMigration;
    if (!client) return false;
    const status = transactionStatus(client);
    return status === null ? this.open : status !== 'I';
  }

  async begin(): Promise<void> {
    const client = await this.client();
    await client.query(`BEGIN; ${this.settings('SET LOCAL')}${this.named('SET LOCAL')}; SAVEPOINT ${MARK}`);
    this.open = true;
    this.markOpened = true;
  }

  async openMark(): Promise<void> {
    if (this.markOpened) this.markOpened = false;
    else await this.connection.query(`SAVEPOINT ${MARK}`);
  }

  async releaseMark(): Promise<boolean> {
    const client = this.connection;
    const status = transactionStatus(client);
    if (status === 'I') return false;
    if (status === 'E')
      throw Object.assign(
        new Error(
          'a statement of this migration failed and its error was caught inside the migration: PostgreSQL then refuses every later statement of the transaction ' +
            '(25P02) and it can only be rolled back. Let the error propagate, or run a statement that may fail inside SAVEPOINT s; ... ROLLBACK TO SAVEPOINT s',
        ),
        { code: '25P02' },
      );
    try {
      await client.query(`RELEASE SAVEPOINT ${MARK}`);
      return true;
    } catch (error) {
      // 3B001: no such savepoint. The migration ended the transaction (and perhaps began another).
      if ((error as { code?: string }).code === '3B001') return false;
      throw error;
    }
  }

  rollsBackOn(error: unknown): boolean {
    // PostgreSQL never rolls a transaction back on its own after a failed statement (it marks it
    // failed); only a session the server ended has lost its transaction.
    return SESSION_GONE.test((error as { code?: unknown } | null)?.code?.toString() ?? '');
  }

  async commit(): Promise<void> {
    const client = this.connection;
    this.markOpened = false;
    const identity = this.lock.identity;
    if (!identity) return this.lost(client, 'ROLLBACK', 'this process does not hold the migration lock');
    try {
      // The fence and the COMMIT in one round trip: a failed check skips the COMMIT, and the transaction then only rolls back.
      await client.query(`DO $fence$ BEGIN IF NOT (${this.stillHeld(identity)}) THEN RAISE EXCEPTION '${LOCK_LOST_MARKER}'; END IF; END $fence$; COMMIT`);
    } catch (error) {
      if ((error as { message?: unknown }).message !== LOCK_LOST_MARKER) throw error;
      return this.lost(client, 'ROLLBACK', lostDetail(identity));
    } finally {
      this.open = false;
    }
  }

  async rollback(): Promise<void> {
    this.markOpened = false;
    const client = this.connections.openMigration;
    if (client && this.inTransaction()) await client.query('ROLLBACK');
    this.open = false;
  }

  /**
   * Runs a migration that asked for no transaction (`transaction: false`) with the timeouts and
   * search path of every migration, set for the session and reset afterwards, once the fence
   * has said that this process still holds the lock.
   */
  async outside<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.client();
    await this.fence(client, null);
    await client.query(`${this.settings('SET')}${this.named('SET')}`);
    try {
      return await work();
    } finally {
      await client.query('RESET lock_timeout; RESET statement_timeout; RESET search_path; RESET application_name').catch(() => undefined);
    }
  }

  /**
   * Throws `LockLostError` unless this process's lock session still holds the lock (its backend,
   * started when it was, holds the key); `undo` (a ROLLBACK) runs first.
   */
  private async fence(client: PoolClient, undo: string | null): Promise<void> {
    const identity = this.lock.identity;
    if (!identity) return this.lost(client, undo, 'this process does not hold the migration lock');
    const { rows } = await client.query<{ held: boolean }>(`SELECT ${this.stillHeld(identity)} AS held`);
    if (!rows[0].held) return this.lost(client, undo, lostDetail(identity));
  }

  /**
   * Whether the lock session still holds the key: its backend, started when it was (a pid is
   * reused), among the key's holders. SQL with our own numbers and the server's own time text in
   * it, so that it can run inside a DO block; `pg_stat_get_activity()` of one pid costs a fraction
   * of a join with the whole `pg_stat_activity` view.
   */
  private stillHeld(identity: LockSessionIdentity): string {
    const holders = HOLDERS_OF_KEY.replace('$1', String(this.key.namespace)).replace('$2', String(this.key.key));
    return `EXISTS (SELECT 1 ${holders} AND l.pid = ${identity.pid}) AND (SELECT extract(epoch FROM backend_start)::text FROM pg_stat_get_activity(${identity.pid})) = '${identity.backendStart.replace(/'/g, "''")}'`;
  }

  /** Rolls back what it can (`undo`) and throws `LockLostError`. */
  private async lost(client: PoolClient, undo: string | null, detail: string): Promise<never> {
    if (undo) await client.query(undo).catch(() => undefined);
    this.open = false;
    throw new LockLostError(undefined, detail);
  }

  /** The session's `application_name` while its process holds the lock: status in other processes finds what it waits on by it. */
  private named(set: 'SET' | 'SET LOCAL'): string {
    const name = this.lock.migrationSessionName;
    return name === null ? '' : `; ${set} application_name = '${name.replace(/'/g, "''")}'`;
  }

  private settings(set: 'SET' | 'SET LOCAL'): string {
    return migrationSettings(set, this.schema, this.ddl);
  }

  /**
   * A `.sql` migration: a transactional file runs whole, inside the runner's transaction, as one
   * simple query; a `transaction: false` file statement by statement (one simple query holding
   * several would run as one implicit transaction, which `CREATE INDEX CONCURRENTLY` refuses).
   */
  private async runScript(client: PoolClient, sql: string, transaction: boolean): Promise<void> {
    if (transaction) {
      await client.query(sql);
      return;
    }
    for (const statement of splitStatements(sql)) await client.query(statement.text);
  }
}

/** `I`, `T` or `E` as the server last said, or null with a client that cannot tell (pg before 8.21). */
function transactionStatus(client: object): string | null {
  return (client as WithStatus).getTransactionStatus?.() ?? null;
}

/**
 * `SET` or `SET LOCAL` of what every migration runs with: its timeouts, and the module's schema
 * first on the search path. Values are numbers and a checked schema name.
 */
export function migrationSettings(set: 'SET' | 'SET LOCAL', schema: string, ddl: Required<DdlOptions>): string {
  const path = schema === 'public' ? 'public' : `${quoteIdentifier(schema)}, public`;
  return `${set} lock_timeout = ${ddl.lockTimeoutMs}; ${set} statement_timeout = ${ddl.statementTimeoutMs}; ${set} search_path = ${path}`;
}

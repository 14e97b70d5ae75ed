import type { Logger } from '@nestjs/common';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { PgPoolLike, ResolvedPostgresOptions } from '../../auto-migration.options';
import { describeCause } from '../../errors/auto-migration.error';

/** How long a status read may wait for a table lock (another process's DDL on our tables) before it is "locked out". */
const PROBE_LOCK_TIMEOUT_MS = 200;
/** Status reads are small: one that runs longer than this is a server in trouble, not a read to wait for. */
const PROBE_STATEMENT_TIMEOUT_MS = 5_000;
/** SQLSTATEs of a read given up on a timeout: lock_not_available, query_canceled. */
const TIMED_OUT = new Set(['55P03', '57014']);
/** Shown in `pg_stat_activity.application_name` for the module's status reads. */
const APPLICATION_NAME = 'nestjs-auto-migration';

/**
 * The connections of a PostgreSQL database: the application's pool (`@InjectMigrationDatabase()`,
 * the module's own or the user's), a small pool of its own for status reads, and the two sessions
 * of a run, opened only when one starts and closed when it ends: the lock session and the
 * migration session that `up(db)` receives.
 */
export class PgConnections {
  readonly app: PgPoolLike;
  private readonly probePool: Pool;
  private readonly runPool: Pool;
  private readonly ownApp: Pool | null;
  private lockSession?: PoolClient;
  private migrationSession?: PoolClient;
  private closed = false;

  constructor(
    options: ResolvedPostgresOptions,
    redact: (message: string) => string,
    private readonly logger: Logger,
  ) {
    const appSettings: PoolConfig = options.pool ? { ...(options.pool.options as PoolConfig) } : { connectionString: options.connectionString ?? undefined };
    this.ownApp = options.pool ? null : new Pool(appSettings);
    this.app = options.pool ?? this.ownApp!;
    // Never timeouts as connection parameters: a transaction pooler refuses them at connect.
    this.probePool = new Pool({ ...appSettings, max: 2, idleTimeoutMillis: 10_000, application_name: APPLICATION_NAME, allowExitOnIdle: true });
    const runSettings: PoolConfig = options.migrationConnectionString ? { connectionString: options.migrationConnectionString } : appSettings;
    // TCP keepalives from this side too: a lock session whose host vanished must not look alive for hours.
    // The lock session, the migration session, and the safety analysis's rehearsal at start-up
    // (a session of its own, opened under the lock while the other two are held).
    this.runPool = new Pool({
      ...runSettings,
      max: 3,
      idleTimeoutMillis: 1_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: APPLICATION_NAME,
      allowExitOnIdle: true,
    });
    // An idle client whose connection drops emits 'error' on its pool; unhandled, it would end the process.
    for (const pool of [this.probePool, this.runPool, this.ownApp])
      pool?.on('error', (error) => this.logger.warn(`A PostgreSQL connection dropped while idle: ${redact(describeCause(error))}`));
  }

  /** The run's lock session, opened on first use. */
  async lock(): Promise<PoolClient> {
    this.lockSession ??= await this.checkOut();
    return this.lockSession;
  }

  /** The run's migration session (what `up(db)` receives), opened on first use. */
  async migration(): Promise<PoolClient> {
    this.migrationSession ??= await this.checkOut();
    return this.migrationSession;
  }

  /** A session of its own for the dry run (never the run's): destroy it with `release(true)`. */
  session(): Promise<PoolClient> {
    return this.checkOut();
  }

  /** The migration session if it is open. */
  get openMigration(): PoolClient | undefined {
    return this.migrationSession;
  }

  /** Closes the run's two sessions: the lock session's transaction (and so the lock) ends with it. */
  endRun(): Promise<void> {
    const sessions = [this.migrationSession, this.lockSession];
    this.migrationSession = this.lockSession = undefined;
    // Destroyed, not returned to the pool: a session's state (an open transaction, settings) must not outlive its run.
    for (const session of sessions) session?.release(true);
    return Promise.resolve();
  }

  /**
   * A read that never waits long on a lock: in a short transaction of its own with a lock timeout,
   * null when it timed out (another process's DDL holds one of our tables) instead of waiting.
   */
  async read<T>(work: (client: PoolClient) => Promise<T>): Promise<T | null> {
    try {
      return await this.shortTransaction('BEGIN READ ONLY', work);
    } catch (error) {
      if (TIMED_OUT.has((error as { code?: string }).code ?? '')) return null;
      throw error;
    }
  }

  /** Proves the server answers (connect and log in): the connection then stays in the status pool for the first read. */
  async check(): Promise<void> {
    (await this.probePool.connect()).release();
  }

  /** A short write on the status pool, in its own transaction (the lease heartbeat): never on a run's sessions. */
  write<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.shortTransaction('BEGIN', work);
  }

  /**
   * `work` in a transaction of its own on the status pool, with a lock timeout (an operator's open
   * transaction or another process's DDL must not hold the pool's two connections) and a statement
   * timeout. A client that failed is destroyed rather than returned: its transaction may be open.
   */
  private async shortTransaction<T>(begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.probePool.connect();
    let broken = true;
    try {
      await client.query(`${begin}; SET LOCAL lock_timeout = ${PROBE_LOCK_TIMEOUT_MS}; SET LOCAL statement_timeout = ${PROBE_STATEMENT_TIMEOUT_MS}`);
      const result = await work(client);
      await client.query('COMMIT');
      broken = false;
      return result;
    } finally {
      client.release(broken);
    }
  }

  /** Ends every pool the module opened (never the user's). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.endRun();
    await Promise.all([this.probePool.end(), this.runPool.end(), this.ownApp?.end()]);
  }

  private async checkOut(): Promise<PoolClient> {
    if (this.closed) throw new Error('the database connections are closed: the application is shutting down');
    const client = await this.runPool.connect();
    // A session whose server connection drops emits 'error' while checked out; the next query on it fails and says why.
    client.on('error', () => undefined);
    return client;
  }
}

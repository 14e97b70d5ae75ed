import type { Logger } from '@nestjs/common';
import type { ResolvedAutoMigrationOptions, ResolvedPostgresOptions } from '../../auto-migration.options';
import { registerCauseClassifier } from '../../errors/cause-advice';
import { DatabaseUnavailableError } from '../../errors/database-unavailable.error';
import { redactSecrets } from '../../status/redact';
import type { Leftovers } from '../capabilities';
import type { DatabaseDriver } from '../database-driver';
import { PgAdvisoryLock } from './pg-advisory-lock';
import { postgresCauses } from './pg-cause';
import { PgConnections } from './pg-connections';
import { PgHistoryProbe } from './pg-history-probe';
import { PgHistoryStore } from './pg-history-store';
import { PgLease } from './pg-lease';
import { lockKeyFor } from './pg-lock-key';
import { INVALID_INDEXES, PgSql } from './pg-schema';
import { PgRollbackRehearsal } from './pg-rehearsal';
import { PgSession } from './pg-session';

registerCauseClassifier(postgresCauses);

/**
 * A PostgreSQL database (`pg`): the application's pool, a small status pool, and a run's lock and
 * migration sessions; the module's tables in `postgres.schema`. No file backups, no copies for a
 * rehearsal, no foreign-key switch (PostgreSQL changes tables in place).
 */
export class PgDatabaseDriver implements DatabaseDriver {
  readonly appHandle: unknown;
  readonly target: string;
  readonly inMemory = false;
  readonly probe: PgHistoryProbe;
  readonly history: PgHistoryStore;
  readonly lease: PgLease;
  readonly session: PgSession;
  readonly lock: PgAdvisoryLock;
  readonly rehearsal: PgRollbackRehearsal;
  readonly leftovers: Leftovers = { describe: () => this.invalidIndexes() };
  private readonly connections: PgConnections;

  /** Connects (one status read proves the server answers) and logs which database it is, never with its password. */
  static async open(options: ResolvedAutoMigrationOptions, logger: Logger): Promise<PgDatabaseDriver> {
    const postgres = options.postgres!;
    logger.log(`Database: ${options.database}`);
    const driver = new PgDatabaseDriver(options, postgres, logger);
    try {
      await driver.connections.check();
    } catch (error) {
      await driver.close();
      throw new DatabaseUnavailableError(options.database, redacted(error, options));
    }
    return driver;
  }

  private constructor(options: ResolvedAutoMigrationOptions, postgres: ResolvedPostgresOptions, logger: Logger) {
    this.target = options.database;
    this.connections = new PgConnections(postgres, (message) => redactSecrets(message, options.secrets), logger);
    this.appHandle = this.connections.app;
    const sql = new PgSql(postgres.schema);
    const key = lockKeyFor(postgres.schema);
    const known = { tablesExist: false };
    this.lock = new PgAdvisoryLock(this.connections, key);
    this.session = new PgSession(this.connections, this.lock, key, postgres.schema, postgres.ddl);
    this.history = new PgHistoryStore(sql, () => this.session.client(), known);
    this.lease = new PgLease(this.history, this.connections, sql, known);
    this.probe = new PgHistoryProbe(this.connections, sql, key, known);
    this.rehearsal = new PgRollbackRehearsal(this.connections, postgres.schema, postgres.ddl);
  }

  /**
   * Invalid indexes: a failed `CREATE INDEX CONCURRENTLY` leaves its index behind, unusable, and
   * `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would then skip it without a word.
   */
  private async invalidIndexes(): Promise<string | null> {
    const rows = await this.connections.read(async (client) => (await client.query<{ name: string }>(INVALID_INDEXES)).rows);
    if (!rows || rows.length === 0) return null;
    const names = rows.map((r) => r.name);
    return (
      `The database now has ${names.length === 1 ? 'an invalid index' : 'invalid indexes'}: ${names.join(', ')} (what a CREATE INDEX CONCURRENTLY that failed leaves behind); ` +
      `drop ${names.length === 1 ? 'it' : 'each'} (DROP INDEX CONCURRENTLY ${names[0]}) before running the migration again: CREATE INDEX CONCURRENTLY IF NOT EXISTS would skip an invalid index and leave it unusable.`
    );
  }

  close(): Promise<void> {
    return this.connections.close();
  }
}

/** The error with every secret of the options taken out of its message (a connection error may quote what it was given). */
function redacted(error: unknown, options: ResolvedAutoMigrationOptions): unknown {
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message !== 'string' || options.secrets.length === 0) return error;
  return Object.assign(error as object, { message: redactSecrets(message, options.secrets) });
}

import { performance } from 'node:perf_hooks';
import type { PoolClient } from 'pg';
import type { DdlOptions } from '../../auto-migration.options';
import type { CapturedStatement, CopyRehearsal, RehearsalCopy } from '../capabilities';
import type { MigrationSession } from '../migration-session';
import { registerScriptRunner } from '../script-runner';
import type { PgConnections } from './pg-connections';
import { migrationSettings } from './pg-session';
import { splitStatements } from './pg-statements';

/** The savepoint around each migration, and the mark inside it. */
const MIGRATION = 'nestjs_auto_migration_dry_run';
const MARK = 'nestjs_auto_migration_up';

/**
 * The dry run on PostgreSQL: a database cannot be copied while the application uses it, so the
 * pending migrations run in one transaction of a session of their own, each in a savepoint, and
 * the whole transaction is rolled back at the end. Its DDL takes real locks on live tables, for
 * as long as the dry run lasts, within the migrations' lock timeout. `transaction: false`
 * migrations run outside any transaction, which cannot be rolled back: they are listed, not run.
 */
export class PgRollbackRehearsal implements CopyRehearsal {
  readonly kind = 'rolled-back transaction';

  constructor(
    private readonly connections: PgConnections,
    private readonly schema: string,
    private readonly ddl: Required<DdlOptions>,
  ) {}

  async openCopy(): Promise<RehearsalCopy> {
    const client = await this.connections.session();
    try {
      await client.query(`BEGIN; ${migrationSettings('SET LOCAL', this.schema, this.ddl)}`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    const session = new RollbackSession(client);
    return {
      session,
      skipsUntransacted: true,
      get capture() {
        return session.capture;
      },
      set capture(into) {
        session.capture = into;
      },
      dispose: async () => {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(true);
      },
    };
  }
}

/** Each migration's "transaction" is a savepoint of the one transaction; every statement its code issues is captured. */
class RollbackSession implements MigrationSession {
  capture: CapturedStatement[] | null = null;
  readonly connection: PoolClient;

  constructor(client: PoolClient) {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // The connection up(db) receives: the client itself, its query() noting each statement first.
    this.connection = new Proxy(client, {
      get: (target, property, receiver) =>
        property === 'query'
          ? (...args: unknown[]) => {
              this.capture?.push({ sql: statementText(args[0]), at: performance.now() });
              return query(...args);
            }
          : (Reflect.get(target, property, receiver) as unknown),
    });
    registerScriptRunner(this.connection, async (sql, { transaction }) => {
      if (transaction) await this.connection.query(sql);
      else for (const statement of splitStatements(sql)) await this.connection.query(statement.text);
    });
  }

  assertIntact(): void {}

  inTransaction(): boolean {
    return true;
  }

  async begin(): Promise<void> {
    await this.connection.query(`SAVEPOINT ${MIGRATION}`);
  }

  async openMark(): Promise<void> {
    await this.connection.query(`SAVEPOINT ${MARK}`);
  }

  async releaseMark(): Promise<boolean> {
    await this.connection.query(`RELEASE SAVEPOINT ${MARK}`);
    return true;
  }

  rollsBackOn(): boolean {
    return false;
  }

  async commit(): Promise<void> {
    await this.connection.query(`RELEASE SAVEPOINT ${MIGRATION}`);
  }

  async rollback(): Promise<void> {
    await this.connection.query(`ROLLBACK TO SAVEPOINT ${MIGRATION}`).catch(() => undefined);
  }
}

/** The SQL text of a `query()` call: a string, or a query config object's `text`. */
function statementText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const text = (arg as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : String(arg);
}

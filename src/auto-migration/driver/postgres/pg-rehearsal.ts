import { performance } from 'node:perf_hooks';
import type { PoolClient } from 'pg';
import type { DdlOptions } from '../../auto-migration.options';
import type { CapturedStatement, CopyRehearsal, RehearsalCopy } from '../capabilities';
import type { MigrationSession } from '../migration-session';
import { registerScriptRunner } from '../script-runner';
import type { PgConnections } from './pg-connections';
import { PgSchemaInspector } from './pg-schema-inspector';
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
 *
 * The copy's inspector reads through the same session (it sees what the migrations did so far)
 * but not through the connection `up(db)` receives: its queries are never captured.
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
    const inspector = new PgSchemaInspector(client, this.schema);
    const session = new RollbackSession(client, inspector);
    return {
      session,
      skipsUntransacted: true,
      inspector,
      get capture() {
        return session.capture;
      },
      set capture(into) {
        session.capture = into;
      },
      get watchLocks() {
        return session.watchLocks;
      },
      set watchLocks(on) {
        session.watchLocks = on;
      },
      dispose: async () => {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(true);
      },
    };
  }
}

/**
 * Each migration's "transaction" is a savepoint of the one transaction; every statement its code
 * issues is captured, and, while `watchLocks` is on, the table locks held once it succeeded.
 */
class RollbackSession implements MigrationSession {
  capture: CapturedStatement[] | null = null;
  watchLocks = false;
  readonly connection: PoolClient;

  constructor(
    client: PoolClient,
    private readonly inspector: PgSchemaInspector,
  ) {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // The connection up(db) receives: the client itself, its query() noting each statement first.
    this.connection = new Proxy(client, {
      get: (target, property, receiver) =>
        property === 'query' ? (...args: unknown[]) => this.captured(query, args) : (Reflect.get(target, property, receiver) as unknown),
    });
    registerScriptRunner(this.connection, async (sql, { transaction }) => {
      for (const statement of this.scriptStatements(sql, transaction)) await this.connection.query(statement);
    });
  }

  /**
   * Runs one `query()` call of a migration, noting it first. With `watchLocks` on, the promise it
   * returns settles once the locks are read, right after the statement (the session runs one query
   * at a time: only a query the migration issued before this one returned runs in between), so the
   * read is timed as part of the statement. A call with a callback or a submittable (a cursor)
   * returns no promise: its locks are not read.
   */
  private captured(query: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    if (this.capture === null) return query(...args);
    const statement: CapturedStatement = { sql: statementText(args[0]), at: performance.now() };
    this.capture.push(statement);
    const result = query(...args);
    if (!this.watchLocks || !isPromise(result)) return result;
    return result.then(async (value) => {
      statement.locks = await this.inspector.locksHeld();
      return value;
    });
  }

  /**
   * A `.sql` migration's statements: while captured, one by one, so that each is listed and timed
   * on its own (inside the one transaction that is the same as the whole file in one query). A file
   * the splitter cannot read runs whole, so that PostgreSQL reports its error as a run would.
   */
  private scriptStatements(sql: string, transaction: boolean): string[] {
    // Outside a transaction, one query holding several statements would run as one implicit transaction.
    if (!transaction) return splitStatements(sql).map((s) => s.text);
    if (this.capture === null) return [sql];
    try {
      return splitStatements(sql).map((s) => s.text);
    } catch {
      return [sql];
    }
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

/** pg's clients may be given a promise library of their own: whatever has `then`. */
function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The SQL text of a `query()` call: a string, or a query config object's `text`. */
function statementText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const text = (arg as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : String(arg);
}

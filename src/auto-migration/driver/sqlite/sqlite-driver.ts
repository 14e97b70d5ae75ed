import type { Database, Statement } from 'better-sqlite3';
import { describeCause } from '../../errors/auto-migration.error';
import type { ForeignKeyControl } from '../capabilities';
import type { AttemptRecord, HistoryRecord, HistoryStore } from '../history-store';
import type { LeaseRecord, LeaseStore, LockOwner } from '../lease-store';
import type { MigrationSession } from '../migration-session';
import { registerScriptRunner } from '../script-runner';
import * as sql from './sqlite-schema';

type LeaseRow = { inProgress: number; startedAt: string | null; heartbeatAt: string | null; current: string | null } & OwnerRow;
type OwnerRow = { host: string | null; pid: number | null; instanceId: string | null };
type AttemptRow = Omit<AttemptRecord, 'owner'> & OwnerRow;

/** The savepoint the runner opens around each `up()`; a name no migration would choose. */
const MARK = 'nestjs_auto_migration_up';

/**
 * The module's tables, the lease row, transactions and foreign-key control on one better-sqlite3
 * connection: the migration connection (or a rehearsal copy's).
 */
export class SqliteDriver implements HistoryStore, LeaseStore, MigrationSession, ForeignKeyControl {
  readonly violationCheck = 'PRAGMA foreign_key_check';
  private readonly prepared = new Map<string, Statement>();

  constructor(readonly connection: Database) {}

  /**
   * Makes this connection one that `.sql` migrations run on (a migration connection or a
   * rehearsal copy's, never the application's): each runs whole, never split on `;`, which
   * trigger bodies contain.
   */
  runsScripts(): this {
    registerScriptRunner(this.connection, (text) => this.connection.exec(text));
    return this;
  }

  /** `PRAGMA data_version`: moves whenever another connection commits (not for this connection's own commits: see `totalChanges`). */
  dataVersion(): number {
    return this.statement('PRAGMA data_version').pluck().get() as number;
  }

  /** `total_changes()`: the rows this connection has written since it opened. */
  totalChanges(): number {
    return this.statement('SELECT total_changes()').pluck().get() as number;
  }

  isSchemaCurrent(): boolean {
    try {
      const row = this.statement(sql.SELECT_SCHEMA_VERSION).get() as { version: number } | undefined;
      return row !== undefined && row.version >= sql.SCHEMA_VERSION;
    } catch (error) {
      if (isMissingTable(error)) return false;
      throw error;
    }
  }

  assertTablesAreOurs(): void {
    sql.assertTablesAreOurs(this.connection);
  }

  ensureSchema(): void {
    sql.upgradeSchema(this.connection);
  }

  readHistory(): HistoryRecord[] {
    const live = this.unlessMissing(() => this.historyRows(), []);
    // The archive may predate this module (the design document's own CREATE TABLE ... AS SELECT),
    // or not exist yet (a database of schema 1 or 2). A name in both counts once, as live.
    const archived = this.unlessMissing(() => this.statement(sql.SELECT_ARCHIVE).all() as HistoryRecord[], []);
    if (archived.length === 0) return live;
    const seen = new Set(live.map((h) => h.name));
    const onlyArchived = archived.filter((h) => !seen.has(h.name) && (seen.add(h.name), true));
    return [...onlyArchived.map((h) => ({ ...h, archived: true })), ...live];
  }

  private historyRows(): HistoryRecord[] {
    try {
      return this.statement(sql.SELECT_HISTORY).all() as HistoryRecord[];
    } catch (error) {
      if (!/no such column: source_hash/i.test(describeCause(error))) throw error;
      return this.statement(sql.SELECT_HISTORY_BEFORE_V4).all() as HistoryRecord[];
    }
  }

  archive(cutoff: string): string[] {
    const names = (this.statement(sql.SELECT_ARCHIVABLE).all({ cutoff }) as { name: string }[]).map((r) => r.name);
    this.statement(sql.ARCHIVE_ROWS).run({ cutoff });
    this.statement(sql.DELETE_ARCHIVED).run({ cutoff });
    return names;
  }

  holdsOnlyModuleTables(): boolean {
    return (this.statement(sql.COUNT_FOREIGN_OBJECTS).get() as { count: number }).count === 0 && this.readHistory().length === 0;
  }

  recordApplied(record: HistoryRecord): void {
    this.statement(sql.INSERT_HISTORY).run({ ...record, sourceHash: record.sourceHash ?? null });
  }

  removeApplied(name: string): void {
    this.statement(sql.DELETE_HISTORY).run({ name });
  }

  recordBaseline(to: string, at: string): void {
    this.statement(sql.RECORD_BASELINE).run({ to, at });
  }

  readLease(): LeaseRecord | null {
    let row: LeaseRow | undefined;
    try {
      row = this.statement(sql.SELECT_LEASE).get() as LeaseRow | undefined;
    } catch (error) {
      // Before our tables exist (or before a v1 database is upgraded) there is no lease to show.
      if (isMissingTable(error) || /no such column/i.test(describeCause(error))) return null;
      throw error;
    }
    if (!row) return null;
    return { inProgress: row.inProgress === 1, startedAt: row.startedAt, heartbeatAt: row.heartbeatAt, current: row.current, owner: owner(row) };
  }

  writeLease(lockOwner: LockOwner | null): void {
    if (lockOwner) this.statement(sql.TAKE_LEASE).run({ ...lockOwner, now: now() });
    else this.statement(sql.CLEAR_LEASE).run();
  }

  heartbeat(current?: string | null): void {
    if (current === undefined) this.statement(sql.HEARTBEAT).run({ now: now() });
    else this.statement(sql.SET_CURRENT).run({ current, now: now() });
  }

  readAttempts(): AttemptRecord[] {
    const rows = this.unlessMissing(() => this.statement(sql.SELECT_ATTEMPTS).all() as AttemptRow[], []);
    return rows.map(({ host, pid, instanceId, ...rest }) => ({ ...rest, owner: owner({ host, pid, instanceId }) }));
  }

  startAttempt(name: string, version: string, lockOwner: LockOwner): void {
    this.statement(sql.INSERT_ATTEMPT).run({ name, version, ...lockOwner, now: now() });
  }

  failAttempt(name: string, error: string): void {
    this.statement(sql.FAIL_ATTEMPT).run({ name, error, now: now() });
  }

  clearAttempt(name: string): void {
    this.statement(sql.DELETE_ATTEMPT).run({ name });
  }

  /**
   * Runs synchronous reads that must not wait on another connection's lock: null at once instead
   * of blocking while another connection holds one. Synchronous from the timeout's change to its
   * restoration, so that nothing else on this connection runs with it.
   */
  now<T>(work: () => T): T | null {
    // Inside a transaction of the application's (an async handler between BEGIN and COMMIT) a read
    // would see its uncommitted writes: not an answer to give anyone else.
    if (this.connection.inTransaction) return null;
    const timeout = this.statement('PRAGMA busy_timeout').pluck().get() as number;
    this.statement('PRAGMA busy_timeout = 0').run();
    try {
      return work();
    } catch (error) {
      if (isBusy(error)) return null;
      throw error;
    } finally {
      this.statement(`PRAGMA busy_timeout = ${Math.trunc(timeout)}`).run();
    }
  }

  assertIntact(): void {
    // quick_check throws SQLITE_CORRUPT itself for some damage, and lists the rest.
    const problems = this.connection.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    if (problems.length === 1 && problems[0].quick_check === 'ok') return;
    const found = problems
      .slice(0, 3)
      .map((p) => p.quick_check)
      .join('; ');
    throw Object.assign(new Error(`database disk image is malformed (PRAGMA quick_check: ${found})`), { code: 'SQLITE_CORRUPT' });
  }

  setForeignKeys(on: boolean): boolean {
    // Prepared once and reused, like every statement of the per-migration path: db.pragma() would
    // compile the statement again on every call, which costs more than running it.
    const previous = (this.statement('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys === 1;
    // A no-op inside a transaction: the runner calls this before BEGIN and after COMMIT.
    if (previous !== on) this.statement(`PRAGMA foreign_keys = ${on ? 'ON' : 'OFF'}`).run();
    return previous;
  }

  foreignKeyViolations(): { counts: Map<string, number>; unchecked: string[] } {
    const counts = new Map<string, number>();
    const count = (rows: { table: string }[]) => rows.forEach((row) => counts.set(row.table, (counts.get(row.table) ?? 0) + 1));
    try {
      count(this.statement('PRAGMA foreign_key_check').all() as { table: string }[]);
      return { counts, unchecked: [] };
    } catch (error) {
      if (!/foreign key mismatch/i.test(describeCause(error))) throw error;
    }
    // One broken foreign key makes the whole-database check fail: check table by table instead.
    const unchecked: string[] = [];
    const tables = this.connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    for (const table of tables) {
      try {
        count(this.connection.pragma(`foreign_key_check("${table.replace(/"/g, '""')}")`) as { table: string }[]);
      } catch (error) {
        if (!/foreign key mismatch/i.test(describeCause(error))) throw error;
        unchecked.push(table);
      }
    }
    return { counts, unchecked };
  }

  repair(checksums: ReadonlyMap<string, { checksum: string; sourceHash: string | null }>, at: string): void {
    for (const [name, current] of checksums) this.statement(sql.UPDATE_CHECKSUM).run({ name, ...current });
    this.statement(sql.DELETE_ALL_ATTEMPTS).run();
    this.statement(sql.RECORD_REPAIR).run({ at });
  }

  inTransaction(): boolean {
    return this.connection.inTransaction;
  }

  begin(): void {
    // IMMEDIATE takes the write lock up front, so a migration never fails half-way on a
    // read-to-write lock upgrade (SQLITE_BUSY) when another connection writes.
    this.statement('BEGIN IMMEDIATE').run();
  }

  openMark(): void {
    this.statement(`SAVEPOINT ${MARK}`).run();
  }

  releaseMark(): boolean {
    // A COMMIT or ROLLBACK ends every savepoint with the transaction, and a BEGIN after it does not bring ours back.
    if (!this.connection.inTransaction) return false;
    try {
      this.statement(`RELEASE ${MARK}`).run();
      return true;
    } catch (error) {
      if (/no such savepoint/i.test(describeCause(error))) return false;
      throw error;
    }
  }

  rollsBackOn(error: unknown): boolean {
    // The errors after which SQLite may roll back the whole transaction (https://sqlite.org/lang_transaction.html).
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^SQLITE_(FULL|IOERR|BUSY|NOMEM|INTERRUPT)(_|$)/.test(code);
  }

  commit(): void {
    this.statement('COMMIT').run();
  }

  rollback(): void {
    // A failed statement may already have ended the transaction (SQLite rolls back on some errors).
    if (this.connection.inTransaction) this.statement('ROLLBACK').run();
  }

  /** Before our tables exist (a new database, or one created by an older release) there is nothing to read. */
  private unlessMissing<T>(read: () => T, empty: T): T {
    try {
      return read();
    } catch (error) {
      if (isMissingTable(error)) return empty;
      throw error;
    }
  }

  /** Prepared on first use (they need our tables), then reused by every migration of every run. */
  private statement(text: string): Statement {
    let statement = this.prepared.get(text);
    if (!statement) {
      statement = this.connection.prepare(text);
      this.prepared.set(text, statement);
    }
    return statement;
  }
}

function owner(row: OwnerRow): LockOwner | null {
  return row.host === null || row.pid === null ? null : { host: row.host, pid: row.pid, instanceId: row.instanceId ?? '' };
}

function now(): string {
  return new Date().toISOString();
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || /database (table )?is locked/i.test(describeCause(error));
}

function isMissingTable(error: unknown): boolean {
  return /no such table/i.test(describeCause(error));
}

import { ForeignHistoryTableError } from '../../errors/foreign-history-table.error';
import type { AttemptRecord, HistoryRecord, HistoryStore } from '../history-store';
import type { LeaseRecord, LeaseStore, LockOwner } from '../lease-store';
import { type PgSql, REQUIRED_COLUMNS, SCHEMA_VERSION } from './pg-schema';

/** What the store needs of a connection: `pg`'s `query()`. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

type OwnerRow = { host: string | null; pid: number | null; instanceId: string | null };
type LeaseRow = { inProgress: number; startedAt: string | null; heartbeatAt: string | null; current: string | null } & OwnerRow;
type AttemptRow = Omit<AttemptRecord, 'owner'> & OwnerRow;

/**
 * The module's tables and the lease row on PostgreSQL, through whichever connection `connection()`
 * gives: the migration session for a run's reads and writes (inside its transactions), the probe
 * pool's client for lock-free reads.
 */
export class PgHistoryStore implements HistoryStore, LeaseStore {
  /**
   * @param known shared by the stores of one database: once the module's tables exist they stay,
   * so nobody needs to ask again
   */
  constructor(
    private readonly sql: PgSql,
    private readonly connection: () => Promise<Queryable>,
    private readonly known: { tablesExist: boolean } = { tablesExist: false },
  ) {}

  async isSchemaCurrent(): Promise<boolean> {
    const rows = await this.unlessMissing(() => this.rows<{ version: number }>(this.sql.schemaVersion), []);
    return rows.length > 0 && rows[0].version >= SCHEMA_VERSION;
  }

  async assertTablesAreOurs(): Promise<void> {
    const rows = await this.rows<{ table: string; column: string }>(this.sql.columns, [this.sql.schema, Object.keys(REQUIRED_COLUMNS)]);
    for (const [table, required] of Object.entries(REQUIRED_COLUMNS)) {
      const present = new Set(rows.filter((r) => r.table === table).map((r) => r.column));
      const missing = required.filter((c) => !present.has(c));
      if (present.size > 0 && missing.length > 0) throw new ForeignHistoryTableError(table, missing, 'give the module a schema of its own (postgres.schema)');
    }
  }

  async ensureSchema(): Promise<void> {
    // Creating or replacing what exists would take each table's exclusive lock, and make status
    // reads wait: only a database whose tables are missing or older gets the DDL.
    if (await this.isSchemaCurrent()) return;
    await this.assertTablesAreOurs();
    await this.rows(this.sql.createTables());
  }

  async readHistory(): Promise<HistoryRecord[]> {
    const live = await this.unlessMissing(() => this.rows<HistoryRecord>(this.sql.history), []);
    const archived = await this.unlessMissing(() => this.rows<HistoryRecord>(this.sql.archiveRows), []);
    if (archived.length === 0) return live;
    const seen = new Set(live.map((h) => h.name));
    const onlyArchived = archived.filter((h) => !seen.has(h.name) && (seen.add(h.name), true));
    return [...onlyArchived.map((h) => ({ ...h, archived: true })), ...live];
  }

  async archive(cutoff: string): Promise<string[]> {
    const names = (await this.rows<{ name: string }>(this.sql.archivable, [cutoff])).map((r) => r.name);
    await this.rows(this.sql.archive, [cutoff]);
    await this.rows(this.sql.deleteArchived, [cutoff]);
    return names;
  }

  async holdsOnlyModuleTables(): Promise<boolean> {
    const [{ count }] = await this.rows<{ count: number }>(this.sql.foreignObjects, [this.sql.schema]);
    return count === 0 && (await this.readHistory()).length === 0;
  }

  async recordApplied(record: HistoryRecord): Promise<void> {
    await this.rows(this.sql.insertHistory, [
      record.name,
      record.version,
      record.description,
      record.checksum,
      record.appliedAt,
      record.executionTimeMs,
      record.sourceHash ?? null,
    ]);
  }

  async removeApplied(name: string): Promise<void> {
    await this.rows(this.sql.deleteHistory, [name]);
  }

  async recordBaseline(to: string, at: string): Promise<void> {
    await this.rows(this.sql.recordBaseline, [to, at]);
  }

  async readAttempts(): Promise<AttemptRecord[]> {
    const rows = await this.unlessMissing(() => this.rows<AttemptRow>(this.sql.attempts), []);
    return rows.map(({ host, pid, instanceId, ...rest }) => ({ ...rest, owner: owner({ host, pid, instanceId }) }));
  }

  async startAttempt(name: string, version: string, lockOwner: LockOwner): Promise<void> {
    await this.rows(this.sql.startAttempt, [name, version, now(), lockOwner.host, lockOwner.pid, lockOwner.instanceId]);
  }

  async failAttempt(name: string, error: string): Promise<void> {
    await this.rows(this.sql.failAttempt, [name, now(), error]);
  }

  async clearAttempt(name: string): Promise<void> {
    await this.rows(this.sql.clearAttempt, [name]);
  }

  async repair(checksums: ReadonlyMap<string, { checksum: string; sourceHash: string | null }>, at: string): Promise<void> {
    for (const [name, current] of checksums) await this.rows(this.sql.updateChecksum, [name, current.checksum, current.sourceHash]);
    await this.rows(this.sql.clearAttempts);
    await this.rows(this.sql.recordRepair, [at]);
  }

  async readLease(): Promise<LeaseRecord | null> {
    const rows = await this.unlessMissing(() => this.rows<LeaseRow>(this.sql.lease), []);
    if (rows.length === 0) return null;
    const row = rows[0];
    return { inProgress: row.inProgress === 1, startedAt: row.startedAt, heartbeatAt: row.heartbeatAt, current: row.current, owner: owner(row) };
  }

  async writeLease(lockOwner: LockOwner | null): Promise<void> {
    if (lockOwner) await this.rows(this.sql.takeLease, [now(), lockOwner.host, lockOwner.pid, lockOwner.instanceId]);
    else await this.rows(this.sql.clearLease);
  }

  async heartbeat(current?: string | null): Promise<void> {
    if (current === undefined) await this.rows(this.sql.heartbeat, [now()]);
    else await this.rows(this.sql.setCurrent, [now(), current]);
  }

  /** The history's change counter (see `PgSql.createTables`), or null before the module's tables exist. */
  async historyChanges(): Promise<string | null> {
    const rows = await this.unlessMissing(() => this.rows<{ value: string }>(this.sql.historyChanges), []);
    return rows[0]?.value ?? null;
  }

  private async rows<R>(text: string, values?: unknown[]): Promise<R[]> {
    return (await (await this.connection()).query<R>(text, values)).rows;
  }

  /**
   * Before our tables exist (a new database or schema) there is nothing to read. Asked first rather
   * than caught: inside a transaction a failed statement aborts it, and the caller's next one too.
   */
  private async unlessMissing<T>(read: () => Promise<T>, empty: T): Promise<T> {
    if (!this.known.tablesExist) {
      const [{ exists }] = await this.rows<{ exists: boolean }>(this.sql.tablesExist, [this.sql.metaTable]);
      if (!exists) return empty;
      this.known.tablesExist = true;
    }
    return read();
  }
}

function owner(row: OwnerRow): LockOwner | null {
  return row.host === null || row.pid === null ? null : { host: row.host, pid: row.pid, instanceId: row.instanceId ?? '' };
}

function now(): string {
  return new Date().toISOString();
}

import type { Database, Statement } from 'better-sqlite3';
import { describeCause } from '../../errors/auto-migration.error';
import type { HistoryRecord, MigrationDriver } from '../migration-driver';
import { CREATE_SCHEMA, INSERT_HISTORY, SCHEMA_VERSION, SELECT_HISTORY, SELECT_SCHEMA_VERSION, UPDATE_LEASE } from './sqlite-schema';

/** `MigrationDriver` on a better-sqlite3 connection: the migration connection. */
export class SqliteDriver implements MigrationDriver {
  // Prepared once the tables exist, then reused for every migration of every run.
  private statements?: { insert: Statement; history: Statement; lease: Statement };
  private schemaVersion?: Statement;
  private readonly begin_: Statement;
  private readonly commit_: Statement;
  private readonly rollback_: Statement;

  constructor(readonly connection: Database) {
    // IMMEDIATE takes the write lock up front, so a migration never fails half-way on a
    // read-to-write lock upgrade (SQLITE_BUSY) when another connection writes.
    this.begin_ = connection.prepare('BEGIN IMMEDIATE');
    this.commit_ = connection.prepare('COMMIT');
    this.rollback_ = connection.prepare('ROLLBACK');
  }

  isSchemaCurrent(): boolean {
    try {
      // Prepared once the table exists: preparing fails with "no such table" before that.
      this.schemaVersion ??= this.connection.prepare(SELECT_SCHEMA_VERSION);
      const row = this.schemaVersion.get() as { version: number } | undefined;
      return row !== undefined && row.version >= SCHEMA_VERSION;
    } catch (error) {
      if (isMissingTable(error)) return false;
      throw error;
    }
  }

  ensureSchema(): void {
    this.begin();
    try {
      this.connection.exec(CREATE_SCHEMA);
      this.commit();
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  readHistory(): HistoryRecord[] {
    return this.prepared().history.all() as HistoryRecord[];
  }

  recordApplied(record: HistoryRecord): void {
    this.prepared().insert.run(record);
  }

  writeLease(held: boolean): void {
    this.prepared().lease.run({ inProgress: held ? 1 : 0, startedAt: held ? new Date().toISOString() : null });
  }

  begin(): void {
    this.begin_.run();
  }

  commit(): void {
    this.commit_.run();
  }

  rollback(): void {
    // A failed statement may already have ended the transaction (SQLite rolls back on some errors).
    if (this.connection.inTransaction) this.rollback_.run();
  }

  private prepared() {
    this.statements ??= {
      insert: this.connection.prepare(INSERT_HISTORY),
      history: this.connection.prepare(SELECT_HISTORY),
      lease: this.connection.prepare(UPDATE_LEASE),
    };
    return this.statements;
  }
}

function isMissingTable(error: unknown): boolean {
  return /no such table/i.test(describeCause(error));
}

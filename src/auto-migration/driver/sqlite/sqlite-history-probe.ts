import type { Database } from 'better-sqlite3';
import type { HistoryProbe } from '../history-probe';
import type { AttemptRecord, HistoryRecord } from '../history-store';
import type { LeaseRecord } from '../lease-store';
import { SqliteDriver } from './sqlite-driver';

/**
 * The lock-free reads on the application's connection. Each read runs whole and synchronously with
 * the connection's busy timeout set to 0 (SQLITE_BUSY at once instead of waiting for a writer),
 * then restored: nothing the application runs can come in between and meet the changed timeout.
 */
export class SqliteHistoryProbe implements HistoryProbe {
  private readonly reader: SqliteDriver;

  /** `lockStamp` moves whenever any process takes or gives up the migration lock (nothing for `:memory:`). */
  constructor(
    connection: Database,
    private readonly lockStamp: () => string = () => '',
  ) {
    this.reader = new SqliteDriver(connection);
  }

  history(): HistoryRecord[] | 'not-current' | null {
    return this.reader.now(() => (this.reader.isSchemaCurrent() ? this.reader.readHistory() : 'not-current'));
  }

  preflight(): { history: HistoryRecord[]; attempts: AttemptRecord[] } | null {
    return this.reader.now(() => {
      this.reader.assertTablesAreOurs();
      return { history: this.reader.readHistory(), attempts: this.reader.readAttempts() };
    });
  }

  lease(): LeaseRecord | null {
    return this.reader.now(() => this.reader.readLease());
  }

  changeMarker(): string | null {
    // data_version counts other connections' commits (the migration connection's among them);
    // total_changes() this connection's own writes: the application's, and with `:memory:` (one
    // connection) the migrations' too. The lock's stamp: another process that took the lock
    // writes nothing to the database while it backs it up or rehearses, yet status must say `running`.
    const counters = this.reader.now(() => `${this.reader.dataVersion()}:${this.reader.totalChanges()}`);
    return counters === null ? null : `${counters}:${this.lockStamp()}`;
  }
}

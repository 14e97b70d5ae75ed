import type { HistoryProbe } from '../history-probe';
import type { AttemptRecord, HistoryRecord } from '../history-store';
import type { LeaseRecord } from '../lease-store';
import type { PgConnections } from './pg-connections';
import { PgHistoryStore, type Queryable } from './pg-history-store';
import { HOLDERS_OF_KEY, type PgLockKey } from './pg-lock-key';
import type { PgSql } from './pg-schema';

/**
 * The lock-free reads on PostgreSQL, on the module's small status pool: readers never wait for
 * writers there, only for another process's DDL on the module's own tables, which each read
 * gives up on after a moment (null: "locked out", as SQLite's busy reader).
 */
export class PgHistoryProbe implements HistoryProbe {
  constructor(
    private readonly connections: PgConnections,
    private readonly sql: PgSql,
    private readonly key: PgLockKey,
    private readonly known: { tablesExist: boolean },
  ) {}

  history(): Promise<HistoryRecord[] | 'not-current' | null> {
    return this.read(async (store) => ((await store.isSchemaCurrent()) ? store.readHistory() : 'not-current'));
  }

  preflight(): Promise<{ history: HistoryRecord[]; attempts: AttemptRecord[] } | null> {
    return this.read(async (store) => {
      await store.assertTablesAreOurs();
      return { history: await store.readHistory(), attempts: await store.readAttempts() };
    });
  }

  lease(): Promise<LeaseRecord | null> {
    return this.read((store) => store.readLease());
  }

  /**
   * The history's change counter (moved by a trigger in the same transaction as every change to
   * the history, a hand edit included) and whether anyone holds the lock: one small read instead
   * of the whole history.
   */
  changeMarker(): Promise<string | null> {
    return this.read(async (store, client) => {
      const changes = await store.historyChanges();
      const { rows } = await client.query<{ held: boolean }>(`SELECT EXISTS (SELECT 1 ${HOLDERS_OF_KEY}) AS held`, [this.key.namespace, this.key.key]);
      return `${changes ?? '-'}:${rows[0].held ? 'locked' : 'free'}`;
    });
  }

  /** `work` on a store bound to one read transaction of the status pool. */
  private read<T>(work: (store: PgHistoryStore, client: Queryable) => Promise<T>): Promise<T | null> {
    return this.connections.read((client) => {
      const queryable = client as unknown as Queryable;
      return work(new PgHistoryStore(this.sql, () => Promise.resolve(queryable), this.known), queryable);
    });
  }
}

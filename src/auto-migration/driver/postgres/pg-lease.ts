import type { LeaseRecord, LeaseStore, LockOwner } from '../lease-store';
import type { PgConnections } from './pg-connections';
import { PgHistoryStore, type Queryable } from './pg-history-store';
import type { PgSql } from './pg-schema';

/**
 * The lease row on PostgreSQL. Taken and cleared on the migration session (taking it commits with
 * the tables it may have created); its heartbeat written through the status pool, so that it keeps
 * beating while a long transactional migration or a `CREATE INDEX CONCURRENTLY` keeps the migration
 * session busy: status then never calls a holder that is working "suspect".
 */
export class PgLease implements LeaseStore {
  readonly beatsOnItsOwn = true;

  constructor(
    private readonly run: PgHistoryStore,
    private readonly connections: PgConnections,
    private readonly sql: PgSql,
    private readonly known: { tablesExist: boolean },
  ) {}

  readLease(): Promise<LeaseRecord | null> {
    return this.run.readLease();
  }

  writeLease(owner: LockOwner | null): Promise<void> {
    return this.run.writeLease(owner);
  }

  /** The beat in flight, if any: a beat that waits (a lock on the row) is not joined by the next ones. */
  private beating: Promise<void> | null = null;

  async heartbeat(current?: string | null): Promise<void> {
    if (this.beating && current === undefined) return;
    const beat = this.beat(current);
    this.beating = beat;
    try {
      await beat;
    } finally {
      if (this.beating === beat) this.beating = null;
    }
  }

  private async beat(current?: string | null): Promise<void> {
    await this.connections.write((client) =>
      new PgHistoryStore(this.sql, () => Promise.resolve(client as unknown as Queryable), this.known).heartbeat(current),
    );
  }
}

import type { CopyRehearsal, FileBackups, ForeignKeyControl, Leftovers } from './capabilities';
import type { HistoryProbe } from './history-probe';
import type { HistoryStore } from './history-store';
import type { LeaseStore } from './lease-store';
import type { MigrationLock } from './migration-lock';
import type { MigrationSession } from './migration-session';

/**
 * One database, as the module sees it: the small contracts the runner, the lease, the backup
 * service, the status and the command-line tool speak to, and the optional capabilities a dialect
 * may have. Nothing outside `driver/` knows which database it is.
 */
export interface DatabaseDriver {
  /** What `@InjectMigrationDatabase()` injects: the application's connection. */
  readonly appHandle: unknown;
  /** Names the database in logs and advice (a file path for SQLite); redacted from the status. */
  readonly target: string;
  /** Whether the database lives in this process only (SQLite `:memory:`): no other process can reach it. */
  readonly inMemory: boolean;
  /** Lock-free reads that never wait: the start with nothing pending, status, health. */
  readonly probe: HistoryProbe;
  /** The module's tables on the migration connection, which opens on first use. */
  readonly history: HistoryStore;
  readonly lease: LeaseStore;
  readonly session: MigrationSession;
  readonly lock: MigrationLock;
  /** Present when migrations can run with foreign-key enforcement off (SQLite). */
  readonly foreignKeys?: ForeignKeyControl;
  /** Present when the database can be backed up as files (SQLite, not in memory). */
  readonly fileBackups?: FileBackups;
  /** Present when the database can be copied for a rehearsal or dry run (SQLite), or rehearse in a transaction it rolls back (PostgreSQL). */
  readonly rehearsal?: CopyRehearsal;
  /** Present when the database can list what a failed `transaction: false` migration left behind (PostgreSQL: invalid indexes). */
  readonly leftovers?: Leftovers;
  /** Closes every connection. Idempotent. Called on shutdown, once no run is in progress. */
  close(): Promise<void>;
}

import type { LockHolder } from '../lock/lock-holder';

/** Fields every event carries. */
interface EventBase {
  /** ISO-8601 UTC time the event happened. */
  readonly at: string;
}

/**
 * What `AutoMigrationService.events$` emits during a run, in this order: `lock-waiting` (only if
 * another process holds the lock), `lock-acquired`, `backup-written` (when a backup is taken),
 * `run-started`, then per migration
 * `migration-started` and `migration-applied` or `migration-failed`, `lock-released`, and last
 * `run-finished`. A start with nothing pending emits only `run-finished`.
 */
export type MigrationEvent =
  | (EventBase & { type: 'lock-waiting'; holder: LockHolder | null })
  | (EventBase & { type: 'lock-acquired'; waitedMs: number })
  | (EventBase & { type: 'lock-released' })
  | (EventBase & {
      type: 'backup-written';
      file: string;
      sizeBytes: number;
      durationMs: number;
      verifyMs: number;
      /** The check of the copy; `'none'` for a backup taken by the user's hook (`sizeBytes` 0 when it did not say). */
      check: 'quick_check' | 'integrity_check' | 'none';
      /** True when the newest backup already held this exact state: no new file was written, `file` is that backup. */
      reused: boolean;
    })
  | (EventBase & { type: 'run-started'; pending: number; transactionMode: 'each' | 'all' })
  | (EventBase & { type: 'migration-started'; name: string; index: number; total: number })
  | (EventBase & { type: 'migration-applied'; name: string; index: number; total: number; executionTimeMs: number })
  | (EventBase & { type: 'migration-failed'; name: string; code: string; message: string })
  | (EventBase & {
      type: 'run-finished';
      outcome: 'up-to-date' | 'failed';
      /** Migrations this run applied. */
      applied: number;
      /** Migrations in the history after the run. */
      total: number;
      durationMs: number;
      /** Why the run failed; `stack` is for logs, never for the status document. */
      error?: { code: string; message: string; stack?: string };
    });

/** The event types, for filtering: `events$.pipe(filter((e) => e.type === 'migration-applied'))`. */
export type MigrationEventType = MigrationEvent['type'];

/** An event as emitted, without its time stamp (the emitter adds it). */
export type MigrationEventInput = MigrationEvent extends infer E ? (E extends MigrationEvent ? Omit<E, 'at'> : never) : never;

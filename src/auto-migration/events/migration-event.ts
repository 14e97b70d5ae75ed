import type { LockHolder } from '../lock/lock-holder';

/** Fields every event carries. */
export interface MigrationEventBase {
  /** ISO-8601 UTC time the event happened. */
  readonly at: string;
}

/** `lock-waiting`: another process holds the migration lock: this one waits for it, up to `lock.timeoutMs`. */
export interface LockWaitingEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'lock-waiting'))`. */
  type: 'lock-waiting';
  /** What the lease row says about the holder (`owner` null while the row does not name it yet). */
  holder: LockHolder | null;
  /** How long this process waits at most, in milliseconds: `lock.timeoutMs` for a run, less for some commands (`unlock`, `resolve`, `repair`). */
  timeoutMs: number;
}

/** `lock-acquired`: this process took the migration lock. */
export interface LockAcquiredEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'lock-acquired'))`. */
  type: 'lock-acquired';
  /** How long it waited for another holder, in milliseconds; 0 when the lock was free. */
  waitedMs: number;
}

/** `lock-released`: this process gave the migration lock up, whether its work succeeded or failed. */
export interface LockReleasedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'lock-released'))`. */
  type: 'lock-released';
}

/** `backup-written`: the backup before the run is written and checked (or your backup hook returned). */
export interface BackupWrittenEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'backup-written'))`. */
  type: 'backup-written';
  /** The backup's file name in the backup folder; for a hook's backup, the id it returned (else `backup.run at <time>`). */
  file: string;
  /** The backup's size in bytes. */
  sizeBytes: number;
  /** The whole backup, its check included, in milliseconds. */
  durationMs: number;
  /** The part of `durationMs` spent checking the copy; 0 for a hook's backup. */
  verifyMs: number;
  /** The check of the copy; `'none'` for a backup taken by the user's hook (`sizeBytes` 0 when it did not say). */
  check: 'quick_check' | 'integrity_check' | 'none';
  /** True when the newest backup already held this exact state: no new file was written, `file` is that backup. */
  reused: boolean;
}

/** `run-started`: migrations are about to be applied, under the lock, after the backup. */
export interface RunStartedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'run-started'))`. */
  type: 'run-started';
  /** How many migrations this run applies. */
  pending: number;
  /** The `transactionMode` option: one transaction per migration (`'each'`), or one for the batch (`'all'`). */
  transactionMode: 'each' | 'all';
}

/** `migration-started`: a migration's `up()` is about to run. */
export interface MigrationStartedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'migration-started'))`. */
  type: 'migration-started';
  /** The migration's name. */
  name: string;
  /** Its position in this run, from 1. */
  index: number;
  /** How many migrations this run applies: progress is `index` of `total`. */
  total: number;
}

/** `migration-applied`: a migration is committed with its history row; never emitted for work that was rolled back. */
export interface MigrationAppliedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'migration-applied'))`. */
  type: 'migration-applied';
  /** The migration's name. */
  name: string;
  /** Its position in this run, from 1. */
  index: number;
  /** How many migrations this run applies. */
  total: number;
  /** How long its `up()` ran, in milliseconds, as the history records it. */
  executionTimeMs: number;
}

/** `migration-failed`: a migration threw, broke its transaction, or left new foreign-key violations; `run-finished` with `outcome: 'failed'` follows. */
export interface MigrationFailedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'migration-failed'))`. */
  type: 'migration-failed';
  /** The migration's name (for foreign-key violations found after a batch of `transactionMode: 'all'`, its first). */
  name: string;
  /** The error's stable code, e.g. `MIGRATION_FAILED`. */
  code: string;
  /** The error's message, which says what became of the migration's changes and what to do. */
  message: string;
}

/** `run-finished`: the run is over: the last event of every run, also of one that had nothing to apply. */
export interface RunFinishedEvent extends MigrationEventBase {
  /** Tells the events apart: `events$.pipe(filter((e) => e.type === 'run-finished'))`. */
  type: 'run-finished';
  /** `'up-to-date'` when every migration is applied, else `'failed'` (with `error`). */
  outcome: 'up-to-date' | 'failed';
  /** Migrations this run applied. */
  applied: number;
  /** Migrations in the history after the run. */
  total: number;
  /** The whole run, lock wait and backup included, in milliseconds. */
  durationMs: number;
  /** Why the run failed; `stack` is for logs, never for the status document. */
  error?: {
    /** The error's stable code; `UNEXPECTED_ERROR` for an error that is not one of the module's. */
    code: string;
    /** The error's message. */
    message: string;
    /** The stack of the error's cause (where your migration threw), else of the error itself. */
    stack?: string;
  };
}

/**
 * What `AutoMigrationService.events$` emits during a run, in this order: `lock-waiting` (only if
 * another process holds the lock), `lock-acquired`, `backup-written` (when a backup is taken),
 * `run-started`, then per migration
 * `migration-started` and `migration-applied` or `migration-failed`, `lock-released`, and last
 * `run-finished`. A start with nothing pending emits only `run-finished`.
 */
export type MigrationEvent =
  | LockWaitingEvent
  | LockAcquiredEvent
  | LockReleasedEvent
  | BackupWrittenEvent
  | RunStartedEvent
  | MigrationStartedEvent
  | MigrationAppliedEvent
  | MigrationFailedEvent
  | RunFinishedEvent;

/** The event types, for filtering: `events$.pipe(filter((e) => e.type === 'migration-applied'))`. */
export type MigrationEventType = MigrationEvent['type'];

/** An event as emitted, without its time stamp (the emitter adds it). */
export type MigrationEventInput = MigrationEvent extends infer E ? (E extends MigrationEvent ? Omit<E, 'at'> : never) : never;

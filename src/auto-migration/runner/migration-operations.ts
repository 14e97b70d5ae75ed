import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';

/** The migration `up()` in progress, as shutdown reports what it waits for. */
export interface RunningMigration {
  readonly name: string;
  /** `performance.now()` when its `up()` began. */
  readonly startedAt: number;
  /**
   * The members of its batch (transactionMode 'all') that still run after it: a batch is never
   * cut. A function: only a shutdown asks, and a list per migration of a long batch costs O(n²).
   */
  readonly laterInBatch: () => readonly string[];
}

/**
 * Runs the module's operations that take the migration lock (a run, `resolve()`, `restore()`)
 * one at a time within this process: the operating-system lock excludes other processes, not
 * two callers in this one (a double-clicked admin endpoint). Also tells shutdown when they are
 * done and which migration runs meanwhile, and carries its request to stop.
 */
@Injectable()
export class MigrationOperations {
  private tail: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private inFlight = 0;
  private migration?: RunningMigration;

  /** Runs `work` after every operation queued before it. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const result = this.tail.then(work).finally(() => this.inFlight--);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every queued operation has settled. */
  idle(): Promise<unknown> {
    return this.tail;
  }

  /** Whether an operation is queued or running. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Runs a migration's `up()`, known meanwhile as the one running. */
  async running<T>(name: string, laterInBatch: () => readonly string[], up: () => Promise<T>): Promise<T> {
    this.migration = { name, startedAt: performance.now(), laterInBatch };
    try {
      return await up();
    } finally {
      this.migration = undefined;
    }
  }

  /** The migration whose `up()` runs now, if any. */
  get runningMigration(): RunningMigration | undefined {
    return this.migration;
  }

  /** Asks a run in progress to stop after the migration (or batch) it is applying. */
  requestStop(): void {
    this.stopping = true;
  }

  get stopRequested(): boolean {
    return this.stopping;
  }
}

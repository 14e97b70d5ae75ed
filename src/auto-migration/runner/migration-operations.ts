import { Injectable } from '@nestjs/common';

/**
 * Runs the module's operations that take the migration lock (a run, `resolve()`, `restore()`)
 * one at a time within this process: the operating-system lock excludes other processes, not
 * two callers in this one (a double-clicked admin endpoint). Also tells shutdown when they are
 * done, and carries its request to stop.
 */
@Injectable()
export class MigrationOperations {
  private tail: Promise<unknown> = Promise.resolve();
  private stopping = false;

  /** Runs `work` after every operation queued before it. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every queued operation has settled. */
  idle(): Promise<unknown> {
    return this.tail;
  }

  /** Asks a run in progress to stop after the migration (or batch) it is applying. */
  requestStop(): void {
    this.stopping = true;
  }

  get stopRequested(): boolean {
    return this.stopping;
  }
}

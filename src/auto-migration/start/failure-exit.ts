import type { Logger } from '@nestjs/common';

/** How long the application's own graceful shutdown may take before the process exits anyway. */
export const FAILURE_EXIT_DEADLINE_MS = 10_000;

/** How long to wait for the log to reach stdout / stderr before exiting. */
const FLUSH_WAIT_MS = 1_000;

/**
 * The way out after a failed background run (`mode: 'background'` with `failOnError: true`, or an
 * always-fatal error): the process ends with exit code 1, as a failed start-up would have ended it.
 *
 * The run has already rolled back its migration and released the lock, so nothing is left
 * half-done in the database. Then:
 * - if something listens to SIGTERM (Nest's `app.enableShutdownHooks()`), the shutdown is
 *   graceful: SIGTERM is emitted in-process (no real signal), so the HTTP server closes and every
 *   `onModuleDestroy` / `beforeApplicationShutdown` / `onApplicationShutdown` hook runs; when Nest
 *   re-raises the signal at the end (or calls `process.exit(0)` with `useProcessExit`), the exit
 *   code is still 1. A deadline of `FAILURE_EXIT_DEADLINE_MS` bounds that shutdown.
 * - otherwise the process exits with code 1 at once, once the log is flushed (the application's
 *   shutdown hooks do not run, as after an uncaught error).
 */
export class FailureExit {
  private armed = false;

  /** Whether the process is on its way out because of a failed background run. */
  get exiting(): boolean {
    return this.armed;
  }

  begin(logger: Logger): void {
    if (this.armed) return;
    this.armed = true;
    process.exitCode = 1;
    // Ref'd on purpose: it is the guarantee that the process ends, whatever the shutdown does.
    setTimeout(() => {
      logger.error(`The application did not shut down within ${FAILURE_EXIT_DEADLINE_MS} ms: exiting with code 1 now`);
      flushThenExit();
    }, FAILURE_EXIT_DEADLINE_MS);
    if (process.listenerCount('SIGTERM') > 0) {
      logger.log('Shutting the application down gracefully (SIGTERM handlers, e.g. enableShutdownHooks()), then exiting with code 1');
      process.emit('SIGTERM', 'SIGTERM');
    } else {
      logger.log('Exiting with code 1 (call app.enableShutdownHooks() to run the shutdown hooks first)');
      flushThenExit();
    }
  }

  /**
   * From `onApplicationShutdown`: Nest ends its graceful shutdown by re-raising the signal (which
   * would end the process "killed by SIGTERM", a clean stop for systemd) or with `process.exit(0)`;
   * either way the exit code must stay 1.
   */
  onShutdown(signal?: string): void {
    if (!this.armed) return;
    process.exitCode = 1;
    if (signal) process.once(signal, () => process.exit(1));
    process.once('exit', () => {
      process.exitCode = 1;
    });
  }
}

/** Exits with code 1 once stdout and stderr have taken what was written to them. */
function flushThenExit(): void {
  let waiting = 2;
  const done = () => {
    if (--waiting === 0) process.exit(1);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
  // Should a stream never call back, the process exits anyway (with exitCode 1 once idle, or here).
  setTimeout(() => process.exit(1), FLUSH_WAIT_MS).unref();
}

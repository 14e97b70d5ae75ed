import { AutoMigrationError } from './auto-migration.error';

/**
 * In an app with several databases: an instance imported earlier failed at start-up (with
 * `failOnError: true`, or a failure fatal whatever it says), so this instance applied nothing.
 */
export class StartupStoppedError extends AutoMigrationError {
  readonly code = 'STARTUP_STOPPED';

  constructor(
    /** This instance, as messages name it (`the default instance`, `instance "analytics"`). */
    readonly instance: string,
    stoppedBy: string,
  ) {
    super(
      `Nothing applied to ${instance}: start-up was stopped by a failure of ${stoppedBy}, imported before it. ` +
        'Fix that failure (its error is logged above and in its status) and restart; this instance then runs in its turn.',
    );
  }
}

import { AutoMigrationError } from './auto-migration.error';

/** A method of `AutoMigrationService` was called with an argument it does not accept. */
export class InvalidArgumentError extends AutoMigrationError {
  readonly code = 'INVALID_ARGUMENT';

  constructor(method: string, argument: string, expected: string, got: unknown) {
    super(`${method}: ${argument} must be ${expected}, got ${JSON.stringify(got)}.`);
  }
}

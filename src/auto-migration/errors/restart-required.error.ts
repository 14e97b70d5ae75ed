import { AutoMigrationError } from './auto-migration.error';

/** The database content was replaced by `restore()`: this instance's state no longer matches it. */
export class RestartRequiredError extends AutoMigrationError {
  readonly code = 'RESTART_REQUIRED';

  constructor(file: string) {
    super(`The database was restored from backup "${file}". Restart this instance (and every other replica) so that it starts from the restored schema.`);
  }
}

import { AutoMigrationError } from './auto-migration.error';

/** `restore()` refused before changing anything: no `force`, a bad file name, or a bad backup. */
export class RestoreRefusedError extends AutoMigrationError {
  readonly code = 'RESTORE_REFUSED';

  constructor(reason: string) {
    super(`Restore refused: ${reason}`);
  }
}

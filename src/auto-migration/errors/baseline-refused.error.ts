import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** `baseline` was asked for on a database that already has a migration history. */
export class BaselineRefusedError extends AutoMigrationError {
  readonly code = 'BASELINE_REFUSED';

  constructor(applied: number, newest: string | null) {
    super(
      `Cannot baseline: the database already has a migration history (${applied} applied, newest ${newest === null ? 'none' : quoted(newest)}). ` +
        'Baseline is for a database that existed before this module was adopted; nothing was changed. ' +
        'To apply what is pending, run `nest-auto-migration up`.',
    );
  }
}

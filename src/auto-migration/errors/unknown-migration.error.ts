import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** A `--to` (or `to:`) named a migration that is not in the code (`up`, `lint`, `baseline`), or not in the applied history (`down`). */
export class UnknownMigrationError extends AutoMigrationError {
  readonly code = 'UNKNOWN_MIGRATION';

  constructor(migration: string, where: string) {
    super(`There is no migration named ${quoted(migration)} ${where}. Check the name with \`nest-auto-migration status\`.`, { migration });
  }
}

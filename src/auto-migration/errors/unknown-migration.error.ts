import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** A command named a migration (`--to`, `resolve`) that is neither in the code nor in the history. */
export class UnknownMigrationError extends AutoMigrationError {
  readonly code = 'UNKNOWN_MIGRATION';

  constructor(migration: string, where: string) {
    super(`There is no migration named ${quoted(migration)} ${where}. Check the name with \`nest-auto-migration status\`.`, { migration });
  }
}

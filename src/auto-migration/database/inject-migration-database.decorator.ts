import { Inject } from '@nestjs/common';
import { MIGRATION_DATABASE } from '../auto-migration.constants';

/**
 * Injects the application's connection to the module's database, as its driver gives it (for
 * SQLite, the SQLite client's `Database`). The module opens and closes it; do not close it yourself.
 */
export const InjectMigrationDatabase = (): PropertyDecorator & ParameterDecorator => Inject(MIGRATION_DATABASE);

/**
 * The injection token behind `@InjectMigrationDatabase()`, for `moduleRef.get()` in tests and for
 * `overrideProvider()`, like `getDataSourceToken()` of @nestjs/typeorm.
 */
export function getMigrationDatabaseToken(): symbol {
  return MIGRATION_DATABASE;
}

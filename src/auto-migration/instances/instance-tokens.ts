import { MIGRATION_DATABASE } from '../auto-migration.constants';
import { AutoMigrationService } from '../auto-migration.service';
import { DEFAULT_INSTANCE } from './instance-name';

/**
 * The injection token of an instance's database connection: `@InjectMigrationDatabase(name)` uses
 * it; give it to `moduleRef.get()` or `overrideProvider()` in tests, like `getDataSourceToken()` of
 * @nestjs/typeorm. Without a name (or `'default'`), the default instance's.
 */
export function getMigrationDatabaseToken(): symbol;
export function getMigrationDatabaseToken(name?: string): string | symbol;
export function getMigrationDatabaseToken(name: string = DEFAULT_INSTANCE): string | symbol {
  return name === DEFAULT_INSTANCE ? MIGRATION_DATABASE : `nestjs-auto-migration:database:${name}`;
}

/**
 * The injection token of an instance's `AutoMigrationService`: the class itself for the default
 * instance, a string for a named one. `@InjectAutoMigrationService(name)` uses it.
 */
export function getAutoMigrationServiceToken(): typeof AutoMigrationService;
export function getAutoMigrationServiceToken(name?: string): typeof AutoMigrationService | string;
export function getAutoMigrationServiceToken(name: string = DEFAULT_INSTANCE): typeof AutoMigrationService | string {
  return name === DEFAULT_INSTANCE ? AutoMigrationService : `nestjs-auto-migration:service:${name}`;
}

import { Inject } from '@nestjs/common';
import { getMigrationDatabaseToken } from '../instances/instance-tokens';

export { getMigrationDatabaseToken } from '../instances/instance-tokens';

/**
 * Injects the application's connection to an instance's database, as its driver gives it (SQLite:
 * the SQLite client's `Database`; PostgreSQL: the `pg.Pool`). Without a name, the default
 * instance's; `@InjectMigrationDatabase('analytics')` the one imported with
 * `forRoot({ name: 'analytics', ... })`. The module opens and closes it; do not close it yourself.
 *
 * @example
 * ```ts
 * constructor(@InjectMigrationDatabase('analytics') private readonly analytics: Database) {}
 * ```
 */
export const InjectMigrationDatabase = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getMigrationDatabaseToken(name));

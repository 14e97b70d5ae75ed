import { Inject } from '@nestjs/common';
import { getAutoMigrationServiceToken } from './instance-tokens';

/**
 * Injects an instance's `AutoMigrationService` (status, `whenReady()`, `migrate()`, `revert()`,
 * events). Without a name, the default instance's, which a plain `AutoMigrationService`
 * parameter also gets.
 *
 * @example
 * ```ts
 * constructor(@InjectAutoMigrationService('analytics') private readonly analytics: AutoMigrationService) {}
 * ```
 */
export const InjectAutoMigrationService = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getAutoMigrationServiceToken(name));

import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LOG_CONTEXT } from '../auto-migration.constants';
import { DEFAULT_INSTANCE, isDefaultInstance } from '../instances/instance-name';
import { MIGRATION_INSTANCE, type MigrationInstance } from '../instances/migration-instance';

/**
 * The logger context of an instance's lines: `AutoMigration` for the default instance (as in an app
 * with one database, whose log does not change), `AutoMigration:<name>` for a named one, so that two
 * instances' "[1/3] 001_x (2 ms)" lines can be told apart.
 */
export function logContextOf(instance: string): string {
  return isDefaultInstance(instance) ? LOG_CONTEXT : `${LOG_CONTEXT}:${instance}`;
}

/**
 * @internal Nest's `Logger` with the context of the module import it belongs to: every class of an
 * import logs through its one `MigrationLogger`. Built with `new` (no instance), it is the default
 * instance's.
 */
@Injectable()
export class MigrationLogger extends Logger {
  constructor(@Optional() @Inject(MIGRATION_INSTANCE) instance?: Pick<MigrationInstance, 'name'>) {
    super(logContextOf(instance?.name ?? DEFAULT_INSTANCE));
  }
}

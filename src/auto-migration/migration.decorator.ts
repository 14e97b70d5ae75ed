import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { MIGRATION_METADATA } from './auto-migration.constants';
import type { MigrationOptions } from './migration.interface';

/**
 * Marks a class as a migration and makes it an injectable provider. List the class in the
 * `providers` of any module of the app; it is found by reflection at start-up.
 *
 * Only sets metadata: names, versions and methods are checked by the explorer at start-up,
 * so every problem is reported together, before the database is touched.
 */
export function Migration(options: MigrationOptions): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(MIGRATION_METADATA, { ...options }));
}

import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { MIGRATION_METADATA } from './auto-migration.constants';
import type { MigrationOptions } from './migration.interface';

/**
 * Marks a class as a migration and makes it an injectable provider. List the class in the
 * `providers` of any module of the app; it is found by reflection at start-up.
 *
 * Only sets metadata: names, versions and methods are checked at start-up, every migration
 * together, so every problem is reported at once, before the database is touched.
 *
 * @param options The migration's `name` (it sets the order), the `version` of the release that
 *   introduced it, and how it runs; see `MigrationOptions`.
 *
 * @example
 * ```ts
 * @Migration({ name: '002_index_users_email', version: '1.1.0', description: 'Faster sign-in by e-mail' })
 * export class IndexUsersEmail implements MigrationInterface<Database> {
 *   up(db: Database) {
 *     db.exec('CREATE INDEX users_email ON users (email)');
 *   }
 *   down(db: Database) {
 *     db.exec('DROP INDEX users_email');
 *   }
 * }
 *
 * @Module({ providers: [IndexUsersEmail] })
 * export class UsersModule {}
 * ```
 */
export function Migration(options: MigrationOptions): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(MIGRATION_METADATA, { ...options }));
}

/** A new `@Migration()` class for a PostgreSQL database, with `up` and `down` on the migration session (a `pg` `PoolClient`), as in docs/writing-migrations.md. */
export function classMigrationSource(input: { name: string; className: string; version: string }): string {
  return `import type { PoolClient } from 'pg';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '${input.name}', version: '${input.version}', description: '' })
export class ${input.className} implements MigrationInterface<PoolClient> {
  async up(db: PoolClient): Promise<void> {
    // await db.query('CREATE TABLE ...');
  }

  async down(db: PoolClient): Promise<void> {
    // await db.query('DROP TABLE ...');
  }
}
`;
}

import type { PoolClient } from 'pg';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '001_create_users', version: '1.0.0', description: 'Create users table' })
export class CreateUsers implements MigrationInterface<PoolClient> {
  async up(db: PoolClient): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email text NOT NULL UNIQUE,
        display_name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    `);
  }

  async down(db: PoolClient): Promise<void> {
    await db.query('DROP TABLE users');
  }
}

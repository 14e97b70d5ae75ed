import type { PoolClient } from 'pg';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '002_create_posts', version: '1.1.0', description: 'Create posts table, owned by users' })
export class CreatePosts implements MigrationInterface<PoolClient> {
  async up(db: PoolClient): Promise<void> {
    await db.query(`
      CREATE TABLE posts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        title text NOT NULL,
        body text NOT NULL DEFAULT '',
        published_at timestamptz
      )
    `);
  }

  async down(db: PoolClient): Promise<void> {
    await db.query('DROP TABLE posts');
  }
}

import type { Database } from 'better-sqlite3';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '002_create_posts', version: '1.1.0', description: 'Create posts table, owned by users' })
export class CreatePosts implements MigrationInterface {
  up(db: Database): void {
    db.exec(`
      CREATE TABLE posts (
        id INTEGER PRIMARY KEY,
        author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '',
        published_at TEXT
      )
    `);
  }

  down(db: Database): void {
    db.exec('DROP TABLE posts');
  }
}

import type { Database } from 'better-sqlite3';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

/** Adds a slug to every post, fills it in for existing rows, then indexes it. */
@Migration({ name: '003_index_posts_and_backfill_slugs', version: '1.2.0', description: 'Add post slugs (backfilled) and indexes' })
export class IndexPostsAndBackfillSlugs implements MigrationInterface {
  up(db: Database): void {
    db.exec('ALTER TABLE posts ADD COLUMN slug TEXT');
    const posts = db.prepare('SELECT id, title FROM posts').all() as { id: number; title: string }[];
    const setSlug = db.prepare('UPDATE posts SET slug = ? WHERE id = ?');
    for (const post of posts) setSlug.run(`${slugify(post.title)}-${post.id}`, post.id);
    db.exec(`
      CREATE UNIQUE INDEX idx_posts_slug ON posts(slug);
      CREATE INDEX idx_posts_author_published ON posts(author_id, published_at);
    `);
  }

  down(db: Database): void {
    db.exec('DROP INDEX idx_posts_author_published; DROP INDEX idx_posts_slug; ALTER TABLE posts DROP COLUMN slug');
  }
}

function slugify(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'post'
  );
}

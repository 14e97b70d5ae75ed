import type { PoolClient } from 'pg';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

/**
 * Adds a slug to every post and indexes it without blocking writes: `CREATE INDEX CONCURRENTLY`
 * cannot run inside a transaction, so this migration says `transaction: false`. A failure leaves
 * what it completed, and an invalid index that the error names; the next start refuses until it
 * is resolved: drop that index first (IF NOT EXISTS would skip an invalid one), then resolve.
 */
@Migration({ name: '003_index_posts_and_backfill_slugs', version: '1.2.0', description: 'Add post slugs (backfilled) and indexes', transaction: false })
export class IndexPostsAndBackfillSlugs implements MigrationInterface<PoolClient> {
  async up(db: PoolClient): Promise<void> {
    await db.query('ALTER TABLE posts ADD COLUMN IF NOT EXISTS slug text');
    await db.query(
      `UPDATE posts SET slug = coalesce(nullif(trim(both '-' from regexp_replace(lower(title), '[^a-z0-9]+', '-', 'g')), ''), 'post') || '-' || id WHERE slug IS NULL`,
    );
    await db.query('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_posts_slug ON posts (slug)');
    await db.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_posts_author_published ON posts (author_id, published_at)');
  }

  async down(db: PoolClient): Promise<void> {
    await db.query('DROP INDEX CONCURRENTLY IF EXISTS idx_posts_author_published');
    await db.query('DROP INDEX CONCURRENTLY IF EXISTS idx_posts_slug');
    await db.query('ALTER TABLE posts DROP COLUMN IF EXISTS slug');
  }
}

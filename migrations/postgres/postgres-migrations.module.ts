import { Module } from '@nestjs/common';
import { CreateUsers } from './001_create_users';
import { CreatePosts } from './002_create_posts';
import { IndexPostsAndBackfillSlugs } from './003_index_posts_and_backfill_slugs';

/** The demo's migrations for PostgreSQL (the same names and versions as the SQLite ones), listed as providers. */
@Module({ providers: [CreateUsers, CreatePosts, IndexPostsAndBackfillSlugs] })
export class PostgresMigrationsModule {}

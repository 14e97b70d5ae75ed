import { Module } from '@nestjs/common';
import { CreateUsers } from './001_create_users';
import { CreatePosts } from './002_create_posts';
import { IndexPostsAndBackfillSlugs } from './003_index_posts_and_backfill_slugs';

/** Lists the demo's migrations as providers: that is all the registration they need. */
@Module({ providers: [CreateUsers, CreatePosts, IndexPostsAndBackfillSlugs] })
export class MigrationsModule {}

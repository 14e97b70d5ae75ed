/*
 * The recipe of docs/testing.md (whose own examples doc-examples.e2e-spec.ts runs) on this
 * repository's demo migrations: a Jest test with Test.createTestingModule, on ':memory:' and on a
 * temp file, without backups or a lock to think about.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Database } from 'better-sqlite3';
import { AutoMigrationModule, AutoMigrationService, getMigrationDatabaseToken } from 'nestjs-auto-migration';
import { MigrationsModule } from '../../migrations/migrations.module';

describe('testing your own migrations (the docs recipe on the demo)', () => {
  let moduleRef: TestingModule;

  afterEach(async () => {
    await moduleRef?.close();
  });

  async function migrate(database: string): Promise<TestingModule> {
    moduleRef = await Test.createTestingModule({
      imports: [AutoMigrationModule.forRoot({ database, backup: false, statusController: false }), MigrationsModule],
    }).compile();
    // init() runs the lifecycle hooks: the migrations apply in onApplicationBootstrap.
    return moduleRef.init();
  }

  it('applies every migration to an in-memory database, and the schema is usable', async () => {
    await migrate(':memory:');
    const status = await moduleRef.get(AutoMigrationService).getStatus();
    expect(status.state).toBe('up-to-date');
    expect(status.applied.map((m) => m.name)).toEqual(['001_create_users', '002_create_posts', '003_index_posts_and_backfill_slugs']);

    const db = moduleRef.get<Database>(getMigrationDatabaseToken());
    db.prepare('INSERT INTO users (email, display_name) VALUES (?, ?)').run('ada@example.com', 'Ada');
    const user = db.prepare('SELECT id FROM users').get() as { id: number };
    db.prepare('INSERT INTO posts (author_id, title, body, slug) VALUES (?, ?, ?, ?)').run(user.id, 'Hello', 'First post', 'hello');
    expect(() => db.prepare('INSERT INTO posts (author_id, title, body, slug) VALUES (?, ?, ?, ?)').run(999, 'x', 'y', 'z')).toThrow(/FOREIGN KEY/);
  });

  it('reverts every migration through down() and applies them again (a round trip on a temp file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
    try {
      await migrate(join(dir, 'test.db'));
      const service = moduleRef.get(AutoMigrationService);
      const reverted = await service.revert({ to: '001_create_users' });
      expect(reverted.reverted.map((r) => r.name)).toEqual(['003_index_posts_and_backfill_slugs', '002_create_posts', '001_create_users']);
      const db = moduleRef.get<Database>(getMigrationDatabaseToken());
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('users', 'posts')").all()).toEqual([]);
      expect((await service.migrate()).state).toBe('up-to-date');
    } finally {
      await moduleRef.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

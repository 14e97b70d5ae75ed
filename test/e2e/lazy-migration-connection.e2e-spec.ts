import { readdirSync, readlinkSync } from 'node:fs';
import request from 'supertest';
import { AutoMigrationService, MigrationHealthIndicator } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/** How many connections of this process have the database file itself open (SQLite keeps one descriptor per connection). */
function connectionsTo(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

/*
 * A start with nothing pending reads through the application's connection: the migration
 * connection opens only for work (a run with something to apply, an operation).
 */
describe('the migration connection opens only when there is work', () => {
  const t = useTempDatabase();
  const options = () => ({ database: t.db, backup: false as const });

  it('a start with nothing pending, its status and health keep one connection; a run with something to apply opens the second', async () => {
    const first = await bootApp(options(), { migrations: [migration('001_a')] });
    expect(connectionsTo(t.db)).toBe(2);
    await first.app.close();
    expect(connectionsTo(t.db)).toBe(0);

    const again = await bootApp(options(), { migrations: [migration('001_a')] });
    try {
      expect(connectionsTo(t.db)).toBe(1);
      await request(again.app.getHttpServer()).get('/migrations/status').expect(200);
      expect(connectionsTo(t.db)).toBe(1);
      expect(await again.app.get(MigrationHealthIndicator).isHealthy()).toMatchObject({ migrations: { status: 'up' } });
      expect(connectionsTo(t.db)).toBe(1);
    } finally {
      await again.app.close();
    }

    // mode 'verify' applies nothing at start: 002_b stays pending until migrate() runs it.
    const { app } = await bootApp({ ...options(), mode: 'verify', failOnError: false }, { migrations: [migration('001_a'), migration('002_b')] });
    try {
      expect(connectionsTo(t.db)).toBe(1);
      expect((await app.get(AutoMigrationService).getStatus()).state).toBe('pending');
      expect(connectionsTo(t.db)).toBe(1);
      expect((await app.get(AutoMigrationService).migrate()).state).toBe('up-to-date');
      expect(connectionsTo(t.db)).toBe(2);
    } finally {
      await app.close();
    }
    expect(connectionsTo(t.db)).toBe(0);
  });
});

import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import BetterSqlite3 from 'better-sqlite3';
import { AutoMigrationModule, AutoMigrationService, getAutoMigrationServiceToken, InvalidMigrationError, InvalidOptionsError } from '../../src/auto-migration';
import { CapturingLogger } from '../helpers/boot';
import { bootInstances, bootInstancesFailure } from '../helpers/instances';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * Several databases across applications and imports: one module built into several apps (a test
 * suite's pattern), an import refused for its own options or migrations (the others open
 * nothing), and a blocking instance imported after a background one (the app still listens at
 * once).
 */

function applied(file: string): string[] {
  if (!existsSync(file)) return [];
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'migrations'").get()) return [];
    return (db.prepare('SELECT name FROM migrations ORDER BY name').all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

describe('several databases: applications and imports', () => {
  const t = useTempDatabase();

  it('builds one module into two applications, each with its own start-up (the first failing does not stop the second)', async () => {
    let fail = true;
    const main = migration('001_main', (db) => {
      if (fail) throw new Error('first app fails');
      db.exec('CREATE TABLE main_t (id INTEGER)');
    });
    const analytics = migration('001_events', undefined, { database: 'analytics' });
    @Module({
      imports: [AutoMigrationModule.forRoot({ database: t.db }), AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') })],
      providers: [main, analytics],
    })
    class AppModule {}

    const logger = new CapturingLogger();
    const first = await NestFactory.createApplicationContext(AppModule, { abortOnError: false, logger }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Error);
    expect(applied(t.dir.file('analytics.db'))).toEqual([]);

    fail = false;
    const second = await NestFactory.createApplicationContext(AppModule, { abortOnError: false, logger });
    try {
      expect(applied(t.db)).toEqual(['001_main']);
      expect(applied(t.dir.file('analytics.db'))).toEqual(['001_events']);
      expect((await second.get<AutoMigrationService>(getAutoMigrationServiceToken('analytics')).getStatus()).state).toBe('up-to-date');
    } finally {
      await second.close();
    }
  });

  it("opens no database when another import's options are refused", async () => {
    const { error } = await bootInstancesFailure(
      [
        AutoMigrationModule.forRoot({ database: t.db }),
        AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db'), lock: { timeoutMs: -5 } }),
      ],
      { migrations: [migration('001_main')] },
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error.message).toContain('lock.timeoutMs');
    // Wait out anything still opening after the refusal: the default import must not have.
    await sleep(200);
    expect(existsSync(t.db)).toBe(false);
    expect(existsSync(t.dir.file('analytics.db'))).toBe(false);
  });

  it("opens no database when another import's migrations are refused", async () => {
    const { error } = await bootInstancesFailure(
      [AutoMigrationModule.forRoot({ database: t.db }), AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') })],
      { migrations: [migration('001_main'), migration('001_events', undefined, { database: 'analytics', version: 'one' })] },
    );
    expect(error).toBeInstanceOf(InvalidMigrationError);
    await sleep(200);
    expect(existsSync(t.db)).toBe(false);
  });

  it('lets a blocking instance imported after a background one start without waiting for the background run', async () => {
    const slow = migration('001_slow', async (db) => {
      await sleep(1500);
      db.exec('CREATE TABLE slow (id INTEGER)');
    });
    const started = Date.now();
    const { app } = await bootInstances(
      [
        AutoMigrationModule.forRoot({ database: t.db, mode: 'background' }),
        AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') }),
      ],
      { migrations: [slow, migration('001_events', undefined, { database: 'analytics' })] },
    );
    try {
      const initMs = Date.now() - started;
      expect(applied(t.dir.file('analytics.db'))).toEqual(['001_events']);
      expect((await app.get(AutoMigrationService).getStatus()).state).toBe('running');
      expect(initMs).toBeLessThan(1500);
      await app.get(AutoMigrationService).whenReady();
    } finally {
      await app.close();
    }
  });
});

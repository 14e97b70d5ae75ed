import { readFileSync, writeFileSync } from 'node:fs';
import { type CanActivate, type ExecutionContext, Injectable, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import type { Database } from 'better-sqlite3';
import { AutoMigrationModule, AutoMigrationService, Migration, MigrationHealthIndicator } from '../../src/auto-migration';
// The demo's readiness endpoint, built the way the README tells users to build it.
import { HealthController } from '../../src/health.controller';
import { bootApp } from '../helpers/boot';
import { gatedMigration, migration } from '../helpers/migrations';
import { historyNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

describe('status endpoint and health indicator', () => {
  const t = useTempDatabase();

  const withHealth = { imports: [TerminusModule], controllers: [HealthController] };

  it('serves the contract status JSON and health 200 once up to date', async () => {
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a'), migration('002_b')], ...withHealth });
    const server = app.getHttpServer();

    const status = await request(server).get('/migrations/status').expect(200);
    expect(status.body).toEqual({
      state: 'up-to-date',
      applied: [
        {
          name: '001_a',
          version: '1.0.0',
          description: 'test 001_a',
          checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
          appliedAt: expect.any(String),
          executionTimeMs: expect.any(Number),
          archived: false,
        },
        {
          name: '002_b',
          version: '1.0.0',
          description: 'test 002_b',
          checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
          appliedAt: expect.any(String),
          executionTimeMs: expect.any(Number),
          archived: false,
        },
      ],
      pending: [],
      unknown: [],
      lastError: null,
      lock: { held: false, owner: null, since: null, heartbeatAt: null, current: null, suspect: false },
      lastBackup: null,
      historyReadAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      historyStale: false,
      historyError: null,
    });
    expect(JSON.stringify(status.body)).not.toContain(t.dir.path);
    // The same document (read again: its read time is its own).
    expect(await app.get(AutoMigrationService).getStatus()).toEqual({ ...status.body, historyReadAt: expect.any(String) });

    const health = await request(server).get('/health').expect(200);
    expect(health.body.info.migrations).toMatchObject({ status: 'up', state: 'up-to-date' });
    await app.close();
  });

  it('answers running and 503 while a migration runs, then up-to-date and 200', async () => {
    const slow = gatedMigration('002_slow');
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a'), slow.type], ...withHealth }, { init: false });

    // Before the bootstrap hook: nothing has run yet.
    const before = await app.get(AutoMigrationService).getStatus();
    expect(before.state).toBe('pending');
    expect(before.pending.map((m) => m.name)).toEqual(['001_a', '002_slow']);
    const indicator = await app.get(MigrationHealthIndicator).isHealthy();
    expect(indicator).toEqual({ migrations: { status: 'down', state: 'pending', pending: ['001_a', '002_slow'] } });

    const init = app.init();
    await slow.started;
    const server = app.getHttpServer();
    const running = await request(server).get('/migrations/status').expect(200);
    expect(running.body).toMatchObject({ state: 'running', lock: { held: true }, pending: [{ name: '002_slow' }] });
    expect(running.body.applied.map((m: { name: string }) => m.name)).toEqual(['001_a']);
    const down = await request(server).get('/health').expect(503);
    expect(down.body.error.migrations).toMatchObject({ status: 'down', state: 'running' });

    slow.release();
    await init;
    await app.get(AutoMigrationService).whenReady();
    await request(server).get('/health').expect(200);
    expect((await request(server).get('/migrations/status')).body).toMatchObject({ state: 'up-to-date', lock: { held: false }, pending: [] });
    await app.close();
  });

  it('answers 503 with the error when a migration failed (failOnError: false)', async () => {
    const failing = migration('001_fails', () => {
      throw new Error('no such luck');
    });
    const { app } = await bootApp({ database: t.db, backup: false, failOnError: false }, { migrations: [failing], ...withHealth });
    const res = await request(app.getHttpServer()).get('/health').expect(503);
    expect(res.body.error.migrations).toMatchObject({
      status: 'down',
      state: 'failed',
      error: { migration: '001_fails', code: 'MIGRATION_FAILED' },
    });
    await app.close();
  });

  it('moves the endpoint, puts guards in front of it, or leaves it out', async () => {
    @Injectable()
    class OnlyWithToken implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        return context.switchToHttp().getRequest().headers['x-token'] === 'let-me-in';
      }
    }
    const moved = await bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db, backup: false, statusController: { path: 'admin/schema', guards: [OnlyWithToken] } }),
      },
    );
    const server = moved.app.getHttpServer();
    await request(server).get('/migrations/status').expect(404);
    await request(server).get('/admin/schema').expect(403);
    await request(server).get('/admin/schema').set('x-token', 'let-me-in').expect(200);
    await moved.app.close();

    const off = await bootApp({}, { autoMigration: AutoMigrationModule.forRoot({ database: t.db, backup: false, statusController: false }) });
    await request(off.app.getHttpServer()).get('/migrations/status').expect(404);
    await off.app.close();
  });

  it('takes its options from forRootAsync, with injected configuration', async () => {
    @Injectable()
    class Config {
      readonly databasePath = t.db;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}

    const { app } = await bootApp(
      {},
      {
        migrations: [migration('001_async_config')],
        autoMigration: AutoMigrationModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => ({ database: config.databasePath, backup: false as const }),
          statusController: { path: 'ops/migrations' },
        }),
      },
    );
    await request(app.getHttpServer()).get('/ops/migrations').expect(200);
    await app.close();
    expect(historyNames(t.db)).toEqual(['001_async_config']);
  });

  it('refuses statusController returned by a forRootAsync factory', async () => {
    await expect(
      bootApp(
        {},
        {
          autoMigration: AutoMigrationModule.forRootAsync({
            useFactory: () => ({ database: t.db, statusController: false }),
          }),
        },
      ),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('beside useFactory') });
  });

  it('a re-read that fails for another reason than a lock serves the last history, marked stale with the reason', async () => {
    const { app } = await bootApp({ database: t.db, backup: false, pragmas: { journal_mode: 'delete' } }, { migrations: [migration('001_a')] });
    // Damage every page after the schema page, and bump the change counter so the connection drops its cache.
    const bytes = Buffer.from(readFileSync(t.db));
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0x55, pageSize);
    bytes.writeUInt32BE(bytes.readUInt32BE(24) + 1, 24);
    writeFileSync(t.db, bytes);

    const status = (await request(app.getHttpServer()).get('/migrations/status').expect(200)).body;
    expect(status).toMatchObject({ historyStale: true, historyError: expect.stringMatching(/malformed|not a database/), applied: [{ name: '001_a' }] });
    expect(JSON.stringify(status)).not.toContain(t.dir.path);
    await app.close();
  });

  it("once ready, stays up through this instance's own revert and migrate(), naming them truly", async () => {
    let gate = Promise.resolve();
    let entered = () => {};
    class Gated {
      async up(db: Database) {
        db.exec('CREATE TABLE gated (id INTEGER)');
        entered();
        await gate;
      }
      down(db: Database) {
        db.exec('DROP TABLE gated');
      }
    }
    Migration({ name: '002_gated', version: '1.0.0' })(Gated);
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a'), Gated], ...withHealth });
    const service = app.get(AutoMigrationService);
    const server = app.getHttpServer();

    await service.revert({ steps: 1 });
    const afterRevert = (await request(server).get('/health').expect(200)).body.details.migrations;
    expect(afterRevert).toMatchObject({ status: 'up', state: 'pending', reason: 'changed since this instance became ready', pending: ['002_gated'] });

    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) => (entered = resolve));
    const run = service.migrate();
    await started;
    const during = (await request(server).get('/health').expect(200)).body.details.migrations;
    expect(during).toMatchObject({ status: 'up', state: 'running', reason: 'this instance is migrating' });
    release();
    await run;
    expect((await request(server).get('/health').expect(200)).body.details.migrations).toMatchObject({ status: 'up', state: 'up-to-date' });
    await app.close();
  });
});

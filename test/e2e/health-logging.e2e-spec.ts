import { ConsoleLogger } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import { AutoMigrationService } from '../../src/auto-migration';
import { HealthController } from '../../src/health.controller';
import { HealthLogger } from '../../src/health-logger';
import { bootApp } from '../helpers/boot';
import { gatedMigration, migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/** The README's recipe, as the demo uses it: a 503 while migrations run is a warning, a failure stays an error. */
describe('the demo HealthLogger with Terminus', () => {
  const t = useTempDatabase();
  const withQuietHealth = { imports: [TerminusModule.forRoot({ logger: HealthLogger })], controllers: [HealthController] };
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;

  beforeEach(() => {
    // ConsoleLogger prints straight to the process streams; its methods are where the level is chosen.
    warn = jest.spyOn(ConsoleLogger.prototype, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(ConsoleLogger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const healthLines = (spy: jest.SpyInstance) => spy.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith('Health Check has failed!'));

  it('logs the 503s of a running migration as warnings, not errors', async () => {
    const slow = gatedMigration('001_slow');
    const { app } = await bootApp({ database: t.db, backup: false, mode: 'background' }, { migrations: [slow.type], ...withQuietHealth });
    await slow.started;
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/health').expect(503);
    slow.release();
    await app.get(AutoMigrationService).whenReady();
    await request(app.getHttpServer()).get('/health').expect(200);
    expect(healthLines(warn)).toHaveLength(3);
    expect(healthLines(warn)[0]).toContain('"state":"running"');
    expect(healthLines(error)).toHaveLength(0);
    await app.close();
  });

  it('keeps a failed migration an error', async () => {
    const failing = migration('001_fails', () => {
      throw new Error('boom');
    });
    const { app } = await bootApp({ database: t.db, backup: false, failOnError: false }, { migrations: [failing], ...withQuietHealth });
    await request(app.getHttpServer()).get('/health').expect(503);
    expect(healthLines(error)).toHaveLength(1);
    expect(healthLines(error)[0]).toContain('"state":"failed"');
    expect(healthLines(warn)).toHaveLength(0);
    await app.close();
  });
});

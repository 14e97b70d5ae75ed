import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import { SchedulerRegistry, ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import BetterSqlite3 from 'better-sqlite3';
import request from 'supertest';
import { AutoMigrationService, PendingMigrationsError } from '../../src/auto-migration';
import { CLI_CONTEXT } from '../../src/auto-migration/auto-migration.constants';
import { MigrationOperations } from '../../src/auto-migration/runner/migration-operations';
import { FailureExit } from '../../src/auto-migration/start/failure-exit';
import { HealthController } from '../../src/health.controller';
import { bootApp, bootFailure, type CapturingLogger } from '../helpers/boot';
import { freePort, httpGet, killStrayChildren, spawnTs } from '../helpers/child-process';
import { gatedMigration, migration, tableFor } from '../helpers/migrations';
import { CLEARED_LEASE, historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const BACKGROUND_APP = join(__dirname, '..', 'fixtures', 'background-app.ts');
const withHealth = { imports: [TerminusModule], controllers: [HealthController] };

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(20);
  }
}

/** Rejects if `promise` has not settled within `ms` (a bound, not a wait). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

function logged(logger: CapturingLogger, pattern: RegExp): boolean {
  return logger.lines.some((line) => pattern.test(line));
}

/** A database an application already uses (its own table), before this module touches it. */
function existingDatabase(file: string): Buffer {
  const db = new BetterSqlite3(file);
  db.exec("CREATE TABLE app_data (id INTEGER PRIMARY KEY, value TEXT); INSERT INTO app_data (value) VALUES ('kept')");
  db.close();
  return readFileSync(file);
}

describe('start modes', () => {
  const t = useTempDatabase();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    await killStrayChildren();
  });

  describe("mode: 'background'", () => {
    it('listens before the migrations finish: /health 503 (running) during a slow migration, 200 after', async () => {
      const slow = gatedMigration('002_slow');
      const { app, logger } = await bootApp(
        { database: t.db, backup: false, mode: 'background' },
        { migrations: [migration('001_a'), slow.type], ...withHealth },
        { init: false },
      );
      try {
        // In blocking mode listen() (which runs the bootstrap hooks) would wait for release().
        await within(app.listen(0, '127.0.0.1'), 10_000, 'app.listen() while the migration is still held');
        const server = app.getHttpServer();
        expect(server.listening).toBe(true);
        await within(slow.started, 10_000, 'the slow migration starting');

        const down = await request(server).get('/health').expect(503);
        expect(down.body.error.migrations).toMatchObject({ status: 'down', state: 'running' });
        expect((await request(server).get('/migrations/status').expect(200)).body).toMatchObject({ state: 'running', lock: { held: true } });
        expect(historyNames(t.db)).toEqual(['001_a']);

        slow.release();
        await app.get(AutoMigrationService).whenReady();
        const up = await request(server).get('/health').expect(200);
        expect(up.body.info.migrations).toMatchObject({ status: 'up', state: 'up-to-date' });
        expect(historyNames(t.db)).toEqual(['001_a', '002_slow']);
        expect(logged(logger, /^LOG \[AutoMigration\] mode 'background': the application starts listening now/)).toBe(true);
        expect(unhandled).toEqual([]);
      } finally {
        slow.release();
        await app.close();
      }
    });

    it('with failOnError: false, a failure leaves the app up with state failed and health 503, without an unhandled rejection', async () => {
      const failing = migration('002_fails', async () => {
        await sleep(1);
        throw new Error('no luck in the background');
      });
      const { app, logger } = await bootApp(
        { database: t.db, backup: false, mode: 'background', failOnError: false },
        { migrations: [migration('001_a'), failing], ...withHealth },
      );
      try {
        await expect(app.get(AutoMigrationService).whenReady()).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_fails' });
        const server = app.getHttpServer();
        const res = await request(server).get('/health').expect(503);
        expect(res.body.error.migrations).toMatchObject({ status: 'down', state: 'failed', error: { migration: '002_fails', code: 'MIGRATION_FAILED' } });
        expect((await request(server).get('/migrations/status').expect(200)).body).toMatchObject({ state: 'failed', lastError: { migration: '002_fails' } });
        await eventually('the failOnError: false warning', () => logged(logger, /failOnError is false: the application runs with migration state "failed"/));
        expect(historyNames(t.db)).toEqual(['001_a']);
        // Give any stray rejection a turn of the event loop to surface.
        await sleep(0);
        expect(unhandled).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it('treats a shutdown during the run as no failure: the run stops between migrations, the process is not exited', async () => {
      const begin = jest.spyOn(FailureExit.prototype, 'begin').mockImplementation(() => undefined);
      try {
        const slow = gatedMigration('001_slow');
        const { app, logger } = await bootApp({ database: t.db, backup: false, mode: 'background' }, { migrations: [slow.type, migration('002_after')] });
        await within(slow.started, 10_000, 'the slow migration starting');
        const closing = app.close();
        // Released once shutdown has asked the run to stop (onApplicationShutdown), as a SIGTERM mid-migration would.
        const operations = app.get(MigrationOperations);
        await eventually('shutdown to ask the run to stop', () => operations.stopRequested);
        slow.release();
        await closing;
        await expect(app.get(AutoMigrationService).whenReady()).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
        expect(logged(logger, /The background migration run stopped because the application is shutting down/)).toBe(true);
        expect(begin).not.toHaveBeenCalled();
        expect(historyNames(t.db)).toEqual(['001_slow']);
        expect(unhandled).toEqual([]);
      } finally {
        begin.mockRestore();
      }
    });

    it('with failOnError: true, a failure logs the error and exits the process with code 1 (plain exit)', async () => {
      const port = await freePort();
      const go = t.dir.file('go');
      const child = spawnTs(BACKGROUND_APP, { paths: true, env: { DB: t.db, PORT: String(port), GO_FILE: go, FAIL: '1' } });
      await child.waitForOutput(`LISTENING ${port}`, 30_000);
      // Listening while the migration waits: health is down, state running.
      const health = await httpGet(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(503);
      expect(health.json().error.migrations).toMatchObject({ state: 'running' });

      const failedAt = Date.now();
      writeFileSync(go, '');
      const exit = await child.waitForExit(30_000);
      const output = child.stdout() + child.stderr();
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
      // At once, not through the 10 s deadline that only bounds a shutdown that hangs.
      expect(Date.now() - failedAt).toBeLessThan(5_000);
      expect(output).not.toContain('did not shut down within');
      expect(child.stderr()).toContain('background boom');
      expect(child.stderr()).toMatch(/mode 'background': the migration run failed with MIGRATION_FAILED \(migration "002_gated"\)/);
      expect(output).toContain('Exiting with code 1');
      expect(output).not.toContain('FIXTURE FAILED');
      // The failed migration (which had created its table) was rolled back, and the lock released
      // before the exit: the lease row was cleared by the process itself, not left to the next holder.
      expect(historyNames(t.db)).toEqual(['001_first']);
      expect(tableNames(t.db)).toContain('first');
      expect(tableNames(t.db)).not.toContain('gated');
      expect(inspect(t.db, (db) => db.prepare('SELECT * FROM migration_lock').all())).toEqual([CLEARED_LEASE]);
    });

    it.each([
      ['enableShutdownHooks()', '1'],
      ['enableShutdownHooks(..., { useProcessExit: true })', 'exit'],
    ])("with failOnError: true and %s, it shuts down gracefully (the app's hooks run) and still exits 1", async (_, hooks) => {
      const port = await freePort();
      const go = t.dir.file('go');
      const child = spawnTs(BACKGROUND_APP, { paths: true, env: { DB: t.db, PORT: String(port), GO_FILE: go, FAIL: '1', SHUTDOWN_HOOKS: hooks } });
      await child.waitForOutput(`LISTENING ${port}`, 30_000);
      const failedAt = Date.now();
      writeFileSync(go, '');
      const exit = await child.waitForExit(30_000);
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
      expect(Date.now() - failedAt).toBeLessThan(5_000);
      expect(child.stderr()).not.toContain('did not shut down within');
      expect(child.stderr()).toContain('background boom');
      expect(child.stdout()).toContain('Shutting the application down gracefully');
      expect(child.stdout()).toContain('APP SHUTDOWN HOOK SIGTERM');
    });

    it('exits on an always-fatal error (checksum mismatch) even with failOnError: false', async () => {
      const port = await freePort();
      const go = t.dir.file('go');
      writeFileSync(go, '');
      const first = spawnTs(BACKGROUND_APP, { paths: true, env: { DB: t.db, PORT: String(port), GO_FILE: go, SHUTDOWN_HOOKS: '1' } });
      await first.waitForOutput(`LISTENING ${port}`, 30_000);
      await eventually('the first run to apply both migrations', async () => (await httpGet(`http://127.0.0.1:${port}/health`)).status === 200, 30_000);
      first.kill('SIGTERM');
      await first.waitForExit(30_000);

      const second = spawnTs(BACKGROUND_APP, {
        paths: true,
        env: { DB: t.db, PORT: String(await freePort()), GO_FILE: go, FAIL_ON_ERROR: 'false', CHECKSUM_001: 'edited' },
      });
      const exit = await second.waitForExit(30_000);
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
      expect(second.stderr()).toMatch(/failed with CHECKSUM_MISMATCH .*fatal whatever failOnError says/);
    });
  });

  describe("mode: 'verify'", () => {
    it('fails start-up with PENDING_MIGRATIONS naming them, and leaves the database byte-identical', async () => {
      const before = existingDatabase(t.db);
      const filesBefore = readdirSync(t.dir.path).sort();
      const { error, logger } = await bootFailure({ database: t.db, backup: false, mode: 'verify' }, { migrations: [migration('001_a'), migration('002_b')] });

      expect(error).toBeInstanceOf(PendingMigrationsError);
      expect(error).toMatchObject({ code: 'PENDING_MIGRATIONS', pending: ['001_a', '002_b'] });
      expect(error.message).toContain('001_a, 002_b');
      expect(error.message).toContain('npx nest-auto-migration up');
      expect(readFileSync(t.db).equals(before)).toBe(true);
      expect(tableNames(t.db)).toEqual(['app_data']);
      expect(readdirSync(t.dir.path).sort()).toEqual(filesBefore);
      expect(logged(logger, /^LOG \[AutoMigration\] mode 'verify': applying nothing/)).toBe(true);
      expect(unhandled).toEqual([]);
    });

    it('with failOnError: false starts with 503 and state pending, then turns 200 once another instance applied them', async () => {
      const migrations = [migration('001_a'), migration('002_b')];
      existingDatabase(t.db);
      const { app, logger } = await bootApp(
        { database: t.db, backup: false, mode: 'verify', failOnError: false, verifyIntervalMs: 100 },
        { migrations, ...withHealth, imports: [...withHealth.imports, ScheduleModule.forRoot()] },
      );
      try {
        const server = app.getHttpServer();
        const service = app.get(AutoMigrationService);
        const registry = app.get(SchedulerRegistry);
        const verifyIntervals = () => registry.getIntervals().filter((name) => name.startsWith('nestjs-auto-migration:verify:'));
        let ready = false;
        void service.whenReady().then(() => (ready = true));

        const down = await request(server).get('/health').expect(503);
        expect(down.body.error.migrations).toMatchObject({ status: 'down', state: 'pending', pending: ['001_a', '002_b'] });
        expect((await request(server).get('/migrations/status')).body).toMatchObject({ state: 'pending', lastError: null });
        // It applied nothing and created none of its tables.
        expect(tableNames(t.db)).toEqual(['app_data']);
        expect(verifyIntervals()).toHaveLength(1);
        expect(ready).toBe(false);
        expect(logged(logger, /2 migrations are not applied: 001_a, 002_b\. failOnError is false/)).toBe(true);

        // The separate job: another instance, blocking mode, on the same file. (Nest's Logger is
        // global: the same capturing logger keeps receiving the first instance's lines.)
        const job = await bootApp({ database: t.db, backup: false }, { migrations }, { logger });
        await job.app.close();
        expect(historyNames(t.db)).toEqual(['001_a', '002_b']);

        const applied = Date.now();
        await eventually(
          'the verify re-check to see the schema current',
          () => logged(logger, /Schema up to date: the pending migrations have been applied by another instance/),
          5_000,
        );
        expect(Date.now() - applied).toBeLessThan(2_000);
        await within(service.whenReady(), 1_000, 'whenReady()');
        const up = await request(server).get('/health').expect(200);
        expect(up.body.info.migrations).toMatchObject({ status: 'up', state: 'up-to-date' });
        expect(verifyIntervals()).toEqual([]);
        expect(logger.lines.filter((line) => /Schema up to date: the pending migrations/.test(line))).toHaveLength(1);
      } finally {
        await app.close();
      }
    });

    it('starts with 200 when every migration is applied, and re-checks nothing', async () => {
      const migrations = [migration('001_a')];
      await (await bootApp({ database: t.db, backup: false }, { migrations })).app.close();
      const { app, logger } = await bootApp(
        { database: t.db, backup: false, mode: 'verify', verifyIntervalMs: 100 },
        { migrations, ...withHealth, imports: [...withHealth.imports, ScheduleModule.forRoot()] },
      );
      try {
        await request(app.getHttpServer()).get('/health').expect(200);
        await within(app.get(AutoMigrationService).whenReady(), 1_000, 'whenReady()');
        expect(app.get(SchedulerRegistry).getIntervals()).toEqual([]);
        expect(logged(logger, /Schema up to date: every migration is applied/)).toBe(true);
      } finally {
        await app.close();
      }
    });

    it('fails start-up on a checksum mismatch, whatever failOnError says, changing nothing', async () => {
      await (await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a', undefined, { checksum: 'one' })] })).app.close();
      const before = readFileSync(t.db);
      for (const failOnError of [true, false]) {
        const { error } = await bootFailure(
          { database: t.db, backup: false, mode: 'verify', failOnError, verifyIntervalMs: 100 },
          { migrations: [migration('001_a', undefined, { checksum: 'two' }), migration('002_b')] },
        );
        expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', migration: '001_a' });
      }
      expect(readFileSync(t.db).equals(before)).toBe(true);
      expect(tableNames(t.db)).not.toContain(tableFor('002_b'));
    });

    it('refuses what a run would refuse (an out-of-order migration), instead of waiting for a run that never comes', async () => {
      await (await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a'), migration('003_c')] })).app.close();
      const before = readFileSync(t.db);
      for (const failOnError of [true, false]) {
        const { error } = await bootFailure(
          { database: t.db, backup: false, mode: 'verify', failOnError, verifyIntervalMs: 100 },
          { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] },
        );
        expect(error).toMatchObject({ code: 'OUT_OF_ORDER_MIGRATION' });
        expect(error.message).toContain('002_b');
      }
      expect(readFileSync(t.db).equals(before)).toBe(true);
    });
  });

  it('under the command-line tool, no mode does anything at bootstrap', async () => {
    const globals = globalThis as Record<symbol, unknown>;
    globals[CLI_CONTEXT] = true;
    const apps: INestApplication[] = [];
    try {
      const before = existingDatabase(t.db);
      for (const mode of ['verify', 'background', 'blocking'] as const) {
        const { app } = await bootApp({ database: t.db, backup: false, mode }, { migrations: [migration('001_a')] });
        apps.push(app);
        expect((await app.get(AutoMigrationService).getStatus()).state).toBe('pending');
      }
      expect(tableNames(t.db)).toEqual(['app_data']);
      expect(existsSync(t.db) && readFileSync(t.db).equals(before)).toBe(true);
    } finally {
      delete globals[CLI_CONTEXT];
      for (const app of apps) await app.close();
    }
  });
});

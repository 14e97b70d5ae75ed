import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import BetterSqlite3 from 'better-sqlite3';
import request from 'supertest';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutoMigrationService, getMigrationDatabaseToken, MigrationHealthIndicator } from '../../src/auto-migration';
import { MIGRATION_DRIVER } from '../../src/auto-migration/auto-migration.constants';
import type { DatabaseDriver } from '../../src/auto-migration/driver/database-driver';
import { lockPathFor } from '../../src/auto-migration/driver/sqlite/lock-path';
import { SqliteFileLock } from '../../src/auto-migration/driver/sqlite/sqlite-file-lock';
import { HealthController } from '../../src/health.controller';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * What a status request and a health probe cost: the real SQLite driver, its reads counted. An
 * up-to-date instance's health reads nothing but the change marker; concurrent status requests
 * share one refresh; a commit by another connection still shows in the next status.
 */

/** Counts the calls of `target[method]`, still calling it. */
function counted<T extends object>(target: T, method: keyof T & string): { calls: number } {
  const counter = { calls: 0 };
  const original = target[method] as (...args: unknown[]) => unknown;
  (target as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    counter.calls++;
    return original.apply(this, args);
  };
  return counter;
}

/** The driver's reads a status or a health probe may make, counted from now on. */
function countReads(app: INestApplication) {
  const driver = app.get<DatabaseDriver>(MIGRATION_DRIVER);
  return {
    history: counted(driver.probe, 'history'),
    marker: counted(driver.probe, 'changeMarker'),
    lockProbes: counted(driver.lock, 'isHeld'),
  };
}

describe('what status and health read', () => {
  const t = useTempDatabase();

  /** Another process's connection deletes a history row, as an operator's revert by hand would. */
  function revertByHand(name: string): void {
    const other = new BetterSqlite3(t.db);
    other.prepare('DELETE FROM migrations WHERE name = ?').run(name);
    other.close();
  }

  const boot = () =>
    bootApp(
      { database: t.db, backup: { dir: t.dir.file('backups'), keep: 3 } },
      { migrations: [migration('001_a'), migration('002_b')], imports: [TerminusModule], controllers: [HealthController] },
    );

  it('100 health probes of an up-to-date instance read no history and probe no lock; a commit by another connection still shows within seconds', async () => {
    const { app } = await boot();
    const health = app.get(MigrationHealthIndicator);
    // The first probe after the start may re-read once (the run's own commits moved the marker).
    expect(await health.isHealthy()).toEqual({ migrations: { status: 'up', state: 'up-to-date', applied: 2 } });
    const reads = countReads(app);

    const started = Date.now();
    for (let i = 0; i < 100; i++) expect(await health.isHealthy()).toEqual({ migrations: { status: 'up', state: 'up-to-date', applied: 2 } });
    const elapsedMs = Date.now() - started;

    expect(reads.history.calls).toBe(0);
    expect(reads.lockProbes.calls).toBe(0);
    // The marker at most about once a second, however often the probes come.
    expect(reads.marker.calls).toBeLessThanOrEqual(Math.ceil(elapsedMs / 1_000) + 1);
    // The readiness endpoint the README builds answers the same way.
    await request(app.getHttpServer()).get('/health').expect(200);
    expect(reads.history.calls + reads.lockProbes.calls).toBe(0);

    // Another process reverts 002_b by hand; no status request comes meanwhile.
    revertByHand('002_b');
    const changed = Date.now();
    let details = (await health.isHealthy()).migrations;
    while (details.state === 'up-to-date' && Date.now() - changed < 10_000) {
      await sleep(50);
      details = (await health.isHealthy()).migrations;
    }
    expect(details).toEqual({ status: 'up', state: 'pending', reason: 'changed since this instance became ready', pending: ['002_b'] });
    expect(Date.now() - changed).toBeLessThan(3_000);
    expect(reads.history.calls).toBe(1);
    await app.close();
  });

  it('100 concurrent status requests read the history at most once', async () => {
    const { app } = await boot();
    const reads = countReads(app);
    const service = app.get(AutoMigrationService);

    const all = await Promise.all(Array.from({ length: 100 }, () => service.getStatus()));

    expect(new Set(all.map((s) => s.state))).toEqual(new Set(['up-to-date']));
    expect(all.every((s) => s.applied.length === 2 && s.historyStale === false)).toBe(true);
    expect(reads.history.calls).toBeLessThanOrEqual(1);
    expect(reads.lockProbes.calls).toBeLessThanOrEqual(1);
    await app.close();
  });

  it("re-reads nothing while nothing changed, and shows another connection's commit in the next status and health", async () => {
    const { app } = await boot();
    const service = app.get(AutoMigrationService);
    const health = app.get(MigrationHealthIndicator);
    await service.getStatus();
    const reads = countReads(app);

    for (let i = 0; i < 20; i++) expect((await service.getStatus()).state).toBe('up-to-date');
    expect(reads.history.calls).toBe(0);
    expect(await health.isHealthy()).toEqual({ migrations: { status: 'up', state: 'up-to-date', applied: 2 } });

    revertByHand('002_b');

    const after = await service.getStatus();
    expect(after).toMatchObject({ state: 'pending', pending: [{ name: '002_b' }], historyStale: false, historyError: null });
    expect(after.applied.map((m) => m.name)).toEqual(['001_a']);
    expect(reads.history.calls).toBe(1);
    // Health follows at once (that status saw the change), in rotation with the true state.
    expect(await health.isHealthy()).toEqual({
      migrations: { status: 'up', state: 'pending', reason: 'changed since this instance became ready', pending: ['002_b'] },
    });
    await app.close();
  });

  it('health of an up-to-date instance says "running" once another process takes the lock, before that process writes anything', async () => {
    const { app } = await boot();
    const health = app.get(MigrationHealthIndicator);
    expect(await health.isHealthy()).toEqual({ migrations: { status: 'up', state: 'up-to-date', applied: 2 } });
    // Another runner in its backup or rehearsal phase: it holds the lock and has written nothing to the database yet.
    const other = new SqliteFileLock(lockPathFor(t.db));
    await other.acquire({ timeoutMs: 1_000, owner: { host: hostname(), pid: process.pid, instanceId: 'another-instance' } });
    try {
      const taken = Date.now();
      let details = (await health.isHealthy()).migrations;
      while (details.state === 'up-to-date' && Date.now() - taken < 10_000) {
        await sleep(50);
        details = (await health.isHealthy()).migrations;
      }
      expect(details).toMatchObject({ status: 'up', state: 'running', reason: 'another process is migrating' });
      expect(Date.now() - taken).toBeLessThan(3_000);
    } finally {
      await other.release();
    }
    const released = Date.now();
    let details = (await health.isHealthy()).migrations;
    while (details.state !== 'up-to-date' && Date.now() - released < 10_000) {
      await sleep(50);
      details = (await health.isHealthy()).migrations;
    }
    expect(details).toEqual({ status: 'up', state: 'up-to-date', applied: 2 });
    await app.close();
  });
});

describe("a change through the application's own connection", () => {
  const t = useTempDatabase();

  it('shows in the next status: the change marker counts that connection’s writes too', async () => {
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [migration('001_a'), migration('002_b')] });
    try {
      const service = app.get(AutoMigrationService);
      expect((await service.getStatus()).state).toBe('up-to-date');
      app.get<BetterSqlite3.Database>(getMigrationDatabaseToken()).prepare('DELETE FROM migrations WHERE name = ?').run('002_b');
      const status = await service.getStatus();
      expect(status.state).toBe('pending');
      expect(status.pending.map((m) => m.name)).toEqual(['002_b']);
    } finally {
      await app.close();
    }
  });
});

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShuttingDownError } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { killStrayChildren, REPO_ROOT, spawnTs } from '../helpers/child-process';
import { migration } from '../helpers/migrations';
import { historyNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'shutdown-app.ts');
const WAITING = /Migration lock held by .*; waiting up to 30000 ms\./;

/*
 * A run still waiting for another process's migration lock stops waiting when its application
 * shuts down, instead of holding the shutdown for up to lock.timeoutMs. The holder is a real
 * process (test/fixtures/shutdown-app.ts) inside its first migration, which waits for a file the
 * test never writes.
 */
describe('shutdown while waiting for the migration lock', () => {
  const t = useTempDatabase();
  afterEach(() => killStrayChildren());

  /** Starts the fixture and waits until it holds the lock, inside 001_big. */
  async function holder() {
    const child = spawnTs(FIXTURE, { env: { DB: t.db, GO_FILE: t.dir.file('never') } });
    await child.waitForOutput('UP STARTED 001_big', 60_000);
    return child;
  }

  it('app.close() ends the wait promptly: start-up rejects with ShuttingDownError, nothing applied, no "another process applied" line', async () => {
    const held = await holder();
    const { app, logger } = await bootApp(
      { database: t.db, backup: false, lock: { timeoutMs: 30_000 } },
      { migrations: [migration('001_big'), migration('002_after')] },
      { init: false },
    );
    const init = app.init().catch((error: unknown) => error);
    while (!logger.lines.some((line) => WAITING.test(line))) await sleep(20);

    const started = performance.now();
    await app.close();
    const error = await init;
    // Generous for a loaded machine; without the fix it waits for the holder, up to lock.timeoutMs (30 s).
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(ShuttingDownError);
    expect(logger.lines.join('\n')).not.toContain('another process applied what this one needed');
    expect(held.exited).toBe(false);
    expect(historyNames(t.db)).toEqual([]);
  });

  it('SIGTERM to a waiting process: it exits within seconds, the holder runs on undisturbed', async () => {
    const held = await holder();
    const waiter = spawnTs(FIXTURE, { env: { DB: t.db, GO_FILE: t.dir.file('never') } });
    await waiter.waitForOutput(/Migration lock held by .*; waiting up to \d+ ms\./, 60_000);

    const started = performance.now();
    waiter.kill('SIGTERM');
    await waiter.waitForExit(10_000);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(waiter.stdout() + waiter.stderr()).not.toContain('another process applied what this one needed');
    expect(waiter.stdout()).not.toContain('UP STARTED');
    expect(held.exited).toBe(false);
  });
});

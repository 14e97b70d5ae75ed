import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpGet, killStrayChildren, type RunningChild, spawnTs } from '../helpers/child-process';
import { historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * Two instances in `mode: 'background'` in a real process (test/fixtures/two-instance-background-app.ts):
 * the default instance, imported first, fails its migration once the test writes the go file;
 * "analytics", imported second, has one migration and waits for the default instance's run. With
 * failOnError: true on the default instance the failure ends the process (exit code 1) and
 * analytics applies nothing; with failOnError: false the process stays up and analytics runs.
 */

jest.setTimeout(120_000);

const APP = join(__dirname, '..', 'fixtures', 'two-instance-background-app.ts');

/** Long enough for a run that did not wait for the default instance to have applied analytics' one migration. */
const NO_WAIT_WINDOW_MS = 500;

interface PrintedStatus {
  state: string;
  lastError: { code: string; migration: string | null; message: string } | null;
  applied: { name: string }[];
}

/** Every `STATUS <instance> <json>` line the child printed for `instance`, in order. */
function statuses(child: RunningChild, instance: string): PrintedStatus[] {
  const prefix = `STATUS ${instance} `;
  return child
    .stdout()
    .split('\n')
    .filter((text) => text.startsWith(prefix))
    .map((text) => JSON.parse(text.slice(prefix.length)) as PrintedStatus);
}

/** Applied migrations in order; none while the module has not created its tables. */
const applied = (db: string): string[] => (existsSync(db) && tableNames(db).includes('migrations') ? historyNames(db) : []);

describe("several databases in mode 'background': a failure of the instance imported first", () => {
  const t = useTempDatabase();
  const analyticsDb = () => t.dir.file('analytics.db');
  afterEach(killStrayChildren);

  /** Starts the app and checks that analytics waits, unapplied, while the default instance's migration waits for the go file. */
  async function startWaiting(env: Record<string, string> = {}): Promise<{ child: RunningChild; port: number; go: () => void }> {
    const port = await freePort();
    const goFile = t.dir.file('go');
    const child = spawnTs(APP, { env: { DEFAULT_DB: t.db, ANALYTICS_DB: analyticsDb(), PORT: String(port), GO_FILE: goFile, ...env } });
    await child.waitForOutput(`LISTENING ${port}`, 30_000);
    await child.waitForOutput(/^STATUS analytics /m, 10_000);
    await sleep(NO_WAIT_WINDOW_MS);
    expect(applied(analyticsDb())).toEqual([]);
    expect(statuses(child, 'analytics').every((status) => status.applied.length === 0)).toBe(true);
    return { child, port, go: () => writeFileSync(goFile, '') };
  }

  it('with failOnError: true, ends the process with exit code 1; analytics applies nothing and is failed with STARTUP_STOPPED before the exit', async () => {
    const { child, go } = await startWaiting();
    go();
    const exit = await child.waitForExit(30_000);
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
    expect(child.stderr()).toMatch(/mode 'background': the migration run failed with MIGRATION_FAILED \(migration "001_main_fails"\): .*default boom/);
    expect(child.stdout() + child.stderr()).not.toContain('FIXTURE FAILED');

    // Printed by the process before it exited.
    expect(statuses(child, 'analytics')).toContainEqual(
      expect.objectContaining({ state: 'failed', lastError: expect.objectContaining({ code: 'STARTUP_STOPPED' }), applied: [] }),
    );
    expect(statuses(child, 'analytics').at(-1)).toMatchObject({ state: 'failed', lastError: { code: 'STARTUP_STOPPED' } });
    expect(statuses(child, 'analytics').at(-1)!.lastError!.message).toContain('start-up was stopped by a failure of the default instance');

    // Nothing applied anywhere: analytics never ran, the default instance's migration was rolled back.
    expect(applied(analyticsDb())).toEqual([]);
    expect(tableNames(analyticsDb())).not.toContain('events');
    expect(applied(t.db)).toEqual([]);
    expect(tableNames(t.db)).not.toContain('main_partial');
  });

  it('with failOnError: false on the default instance, the process stays up, analytics is applied, the default instance failed', async () => {
    const { child, port, go } = await startWaiting({ DEFAULT_FAIL_ON_ERROR: 'false' });
    go();
    // Both runs settled, whichever way: the assertions below then say which.
    await child.waitForOutput(/^STATUS default \{.*"state":"failed"/m, 30_000);
    await child.waitForOutput(/^STATUS analytics \{.*"state":"(up-to-date|failed)"/m, 30_000);

    expect(statuses(child, 'default').at(-1)).toMatchObject({ state: 'failed', lastError: { code: 'MIGRATION_FAILED', migration: '001_main_fails' } });
    expect(statuses(child, 'analytics').at(-1)).toMatchObject({ state: 'up-to-date', lastError: null, applied: [{ name: '001_analytics_events' }] });
    expect(historyNames(analyticsDb())).toEqual(['001_analytics_events']);
    expect(tableNames(analyticsDb())).toContain('events');
    expect(applied(t.db)).toEqual([]);

    // Still up and serving (no route: 404 is an answer), well after both runs ended.
    await sleep(NO_WAIT_WINDOW_MS);
    expect(child.exited).toBe(false);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect(child.stdout() + child.stderr()).toContain('failOnError is false: the application runs with migration state "failed"');

    child.kill('SIGKILL');
    await child.waitForExit(10_000);
  });
});

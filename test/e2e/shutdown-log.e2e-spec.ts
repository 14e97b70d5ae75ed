import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootApp } from '../helpers/boot';
import { killStrayChildren, REPO_ROOT, spawnTs } from '../helpers/child-process';
import { gatedMigration, migration } from '../helpers/migrations';
import { historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'shutdown-app.ts');

/* SIGTERM (app.enableShutdownHooks()) while a long migration runs, in a real process. */
describe('shutdown during a migration', () => {
  const t = useTempDatabase();

  afterEach(() => killStrayChildren());

  it('says at once what it waits for, then lets the migration finish and starts no later one', async () => {
    const goFile = t.dir.file('go');
    const app = spawnTs(FIXTURE, { env: { DB: t.db, GO_FILE: goFile } });
    await app.waitForOutput('UP STARTED 001_big', 60_000);
    await sleep(300);

    app.kill('SIGTERM');
    // Generous for a loaded machine; without the line the shutdown is silent until the migration ends.
    await app.waitForOutput(/Shutdown: waiting for migration "001_big" \(running \d+\.\d s\) to finish; later migrations will not start/, 2_500);
    // ...said before the migration's own "[1/2] 001_big (N ms)" line, i.e. while it still runs.
    expect(app.stdout()).not.toMatch(/\[\d+\/\d+\] 001_big \(/);

    writeFileSync(goFile, '');
    await app.waitForExit(60_000);
    expect(historyNames(t.db)).toEqual(['001_big']);
    expect(tableNames(t.db)).not.toContain('after');
  });

  it('with transactionMode "all", names the rest of the batch, which still runs', async () => {
    const slow = gatedMigration('001_slow');
    const { app, logger } = await bootApp(
      { database: t.db, backup: false, transactionMode: 'all' },
      { migrations: [slow.type, migration('002_same_batch')] },
      { init: false },
    );
    const init = app.init().catch((error: unknown) => error);
    await slow.started;
    const closing = app.close();
    await sleep(50);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /Shutdown: waiting for migration "001_slow" \(running \d+\.\d s\) and the rest of its batch \(002_same_batch\), which commits as one, to finish; later migrations will not start/,
      ),
    );
    slow.release();
    await Promise.all([init, closing]);
    expect(historyNames(t.db)).toEqual(['001_slow', '002_same_batch']);
  });
});

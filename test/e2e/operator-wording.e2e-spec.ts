import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { InterruptedMigrationError } from '../../src/auto-migration';
import { bootFailure } from '../helpers/boot';
import { CLI_SOURCE, type CliRun, killStrayChildren, REPO_ROOT, type RunningChild, spawnTs } from '../helpers/child-process';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * The words an operator reads while another process works, and after a migration that ended its
 * own transaction: the human `status` says why it is running and that the lists are unknown, a
 * refused `resolve` says why it was refused, and an interrupted migration is not called
 * "non-transactional" when it was a transactional one. Real processes on a real file
 * (test/fixtures/operator-app.ts holds the lock at a step, gated by files).
 */

jest.setTimeout(180_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'operator-app.ts');

describe('what an operator reads', () => {
  const t = useTempDatabase();
  afterEach(killStrayChildren);

  const env = (extra: Record<string, string> = {}) => ({ DB: t.db, GATE_DIR: t.dir.path, ...extra });

  async function cli(args: string[]): Promise<CliRun> {
    const child = spawnTs(CLI_SOURCE, { cwd: t.dir.path, env: env(), args: [...args, '--module', `${FIXTURE}#OperatorAppModule`] });
    const exit = await child.waitForExit(120_000);
    return { code: exit.code, stdout: child.stdout(), stderr: child.stderr(), describe: () => child.describe() };
  }

  function expectExit(run: CliRun, code: number): void {
    if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
  }

  /** An application context of the fixture applying what is pending, held at `step` (after its work, before its commit). */
  async function holderAt(step: string): Promise<RunningChild> {
    const holder = spawnTs(FIXTURE, { env: env({ ROLE: 'holder', HOLD: step }) });
    const deadline = Date.now() + 120_000;
    while (!existsSync(t.dir.file(`holding-${step}`))) {
      if (holder.exited) throw new Error(`exited before holding at ${step}\n${holder.describe()}`);
      if (Date.now() > deadline) throw new Error(`not holding at ${step} after 120 s\n${holder.describe()}`);
      await sleep(20);
    }
    return holder;
  }

  it('human status while a large commit locks readers out: running because another process holds the lock, lists unknown (not "none"); resolve refused, saying why', async () => {
    // A rollback journal, as databases made before WAL was the default are: readers are locked out.
    const db = new BetterSqlite3(t.db);
    db.pragma('user_version = 1');
    db.close();
    const holder = await holderAt('002');

    const [status, resolve] = await Promise.all([cli(['status']), cli(['resolve', '003_notx_index', '--applied'])]);

    expectExit(status, 1);
    expect(status.stdout).toMatch(/^State: running \(another process holds the migration lock: see "Lock" below\)$/m);
    expect(status.stdout).toMatch(/^History: not readable right now \(another process's commit locks the database right now\)$/m);
    expect(status.stdout).toMatch(/^Applied: not readable right now$/m);
    expect(status.stdout).toMatch(/^Pending: not readable right now$/m);
    expect(status.stdout).not.toMatch(/^ {2}none$/m);
    expect(status.stdout).toMatch(new RegExp(`^Lock: held by ${hostname()}/${holder.pid} `, 'm'));

    expectExit(resolve, 2);
    expect(resolve.stderr).toMatch(new RegExp(`^error LOCK_HELD: The migration lock is held by a live process: ${hostname()}/${holder.pid} `, 'm'));
    expect(resolve.stderr).toContain('Nothing was changed: unlock, resolve and repair never run while a live process holds the lock');
    expect(resolve.stderr).toContain('Wait for it to finish, then try again; if it is stuck, stop that process.');

    writeFileSync(t.dir.file('release-002'), 'go');
    expect(await holder.waitForExit(120_000)).toEqual({ code: 0, signal: null });
  });

  it('a transactional migration that ended its own transaction is reported at the next start as interrupted, not as a non-transactional one', async () => {
    const options = { database: t.db, backup: false as const };
    const escapes = migration('002_escapes', (d) => {
      d.exec('CREATE TABLE before_commit (id INTEGER); COMMIT');
    });
    await bootFailure(options, { migrations: [migration('001_first'), escapes] });

    const { error } = await bootFailure(options, { migrations: [migration('001_first'), migration('002_escapes')] });

    expect(error).toBeInstanceOf(InterruptedMigrationError);
    expect(error.message).toMatch(
      /^Interrupted migration, possibly half-applied \(a transaction: false migration that did not finish, or one that ended the transaction it ran in\):\n {2}- "002_escapes" started \S+ and failed \S+: up\(\) ended the transaction it runs in/,
    );
    expect(error.message).not.toContain('non-transactional');
    expect(error.message).toContain("Check the database (or restore a backup), then call AutoMigrationService.resolve(name, 'applied')");
  });
});

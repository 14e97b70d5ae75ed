import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliRun, killStrayChildren, REPO_ROOT, runCli, spawnProcess } from '../helpers/child-process';
import { historyNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * A database whose header is garbled (SQLITE_NOTADB) cannot be opened by anything, so the CLI,
 * which boots the app's module and opens the file, cannot `restore` it. The advice says so and
 * gives the commands that do work (stopped app: move the damaged file and its journal files
 * aside, copy the newest backup in); following it to the letter brings the database back.
 * Real files, real CLI processes (test/fixtures/cli/app.module.ts).
 */

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'app.module.ts');

describe('a database with a garbled header (SQLITE_NOTADB)', () => {
  const t = useTempDatabase();
  const folder = () => join(t.dir.path, 'backups');
  afterEach(killStrayChildren);

  const cli = (args: string[]) => runCli([...args, '--module', FIXTURE], { cwd: t.dir.path, env: { DATABASE: t.db } });

  function expectExit(run: CliRun, code: number): void {
    if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
  }

  it('restore cannot open it, and the advice says so; the commands it gives bring the newest backup back, the damaged files kept', async () => {
    expectExit(await cli(['up', '--to', '002_create_posts']), 0);
    expectExit(await cli(['up']), 0);
    const [backup] = readdirSync(folder()).filter((f) => f.endsWith('.backup'));
    expect(backup).toMatch(/\.002_create_posts\.backup$/);

    // A process that dies mid-use leaves a -wal (a committed row not yet checkpointed) and a -shm beside the file.
    const writer = spawnProcess(process.execPath, [
      '-e',
      `const db = new (require('better-sqlite3'))(${JSON.stringify(t.db)}); db.prepare("INSERT INTO users (email) VALUES ('late@example.com')").run(); console.log('WROTE'); setInterval(() => {}, 1000);`,
    ]);
    await writer.waitForOutput('WROTE', 30_000);
    writer.kill('SIGKILL');
    await writer.waitForExit(30_000);
    expect(existsSync(`${t.db}-wal`)).toBe(true);
    const damaged = Buffer.from(readFileSync(t.db));
    damaged.write('garbage garbage!', 0, 'latin1');
    writeFileSync(t.db, damaged);
    const wal = readFileSync(`${t.db}-wal`);

    const refused = await cli(['restore', backup, '--force']);
    expectExit(refused, 2);
    const line = refused.stderr.split('\n').find((l) => l.startsWith('error DATABASE_UNAVAILABLE: '));
    expect(line).toBeDefined();
    expect(line).toContain(`"${t.db}" is damaged (SQLITE_NOTADB): do not let anything write to it.`);
    expect(line).toContain('nothing can open it, `nest-auto-migration restore` and `status` included: put a backup in its place by hand.');
    expect(line).not.toContain(`restore ${backup} --force`);
    const command = /as the user it runs as: `([^`]+)`/.exec(line!)?.[1];
    const aside = `${t.db}.damaged-`;
    expect(command).toMatch(
      new RegExp(
        `^mv ${t.db} (${aside}\\d{8}T\\d{6}Z) && mv ${t.db}-wal \\1-wal && mv ${t.db}-shm \\1-shm && cp ${join(folder(), backup)} ${t.db}$`.replace(
          /\./g,
          '\\.',
        ),
      ),
    );
    const check = /`(sha256sum -c [^`]+)` in that folder checks it first/.exec(line!)?.[1];
    expect(check).toBe(`sha256sum -c ${backup}.sha256`);

    // Followed as written.
    execFileSync('sh', ['-c', check!], { cwd: folder() });
    execFileSync('sh', ['-c', command!]);

    const kept = /^mv \S+ (\S+) /.exec(command!)![1];
    expect(readFileSync(kept).equals(damaged)).toBe(true);
    expect(readFileSync(`${kept}-wal`).equals(wal)).toBe(true);
    expect(existsSync(`${t.db}-wal`)).toBe(false);
    expect(readFileSync(t.db).equals(readFileSync(join(folder(), backup)))).toBe(true);

    const status = await cli(['status', '--json']);
    expectExit(status, 1);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'pending', lastError: null });
    expect(historyNames(t.db)).toEqual(['001_create_users', '002_create_posts']);
    expectExit(await cli(['up']), 0);
    expect(historyNames(t.db)).toEqual(['001_create_users', '002_create_posts', '003_index_and_vacuum', '004_create_tags', '005_seed_tags']);
  });

  it('restore --help says that it cannot run on such a file, and where the commands that can are', async () => {
    const help = await runCli(['restore', '--help']);
    expectExit(help, 0);
    expect(help.stdout.replace(/\n/g, ' ')).toContain(
      'A file that is not a database at all (SQLITE_NOTADB, a garbled header) cannot be opened, so restore cannot run on it: the error gives the commands that put the newest backup in its place by hand.',
    );
  });
});

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { killStrayChildren, REPO_ROOT, spawnProcess } from '../helpers/child-process';
import { npm, npmEnv } from '../helpers/npm';
import { usePgSchema } from '../helpers/postgres';
import { tempDir } from '../helpers/temp-dir';

/*
 * better-sqlite3 is an optional peer: an app that uses another database, or has not installed it
 * yet, must be able to load the package. The package is built and packed as a user gets it, then
 * unpacked into an app outside the repo (so nothing resolves by walking up to the repo's
 * node_modules) that has every other dependency, linked from the repo, but not better-sqlite3.
 */

jest.setTimeout(180_000);

/** The tree whose package is built: the repo itself. */
const SOURCE_ROOT = REPO_ROOT;
const APP_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'no-sqlite-app', 'main.js');
/** better-sqlite3 and the helpers only it brings (its native binding's loader and its prebuild download). */
const LEFT_OUT = new Set(['better-sqlite3', 'bindings', 'file-uri-to-path', 'prebuild-install', '.bin', '.cache', '.package-lock.json']);

/** What the fixture printed for `step` (one `<STEP> <json>` line), or undefined when it printed none. */
function printed<T>(stdout: string, step: string): T | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(`${step} `));
  return line === undefined ? undefined : (JSON.parse(line.slice(step.length + 1)) as T);
}

describe('the packed package in an app without better-sqlite3', () => {
  const pg = usePgSchema('nosqlite');
  const work = tempDir('auto-migration-no-sqlite-');
  const dbDir = tempDir('auto-migration-no-sqlite-db-');
  const appDir = join(work.path, 'app');
  const installed = join(appDir, 'node_modules', 'nestjs-auto-migration');
  let stdout: string;

  beforeAll(async () => {
    // Built into a copy rather than by `npm pack` in the repo, so that the repo's dist/ (which other tests may read) is left alone.
    const packageDir = join(work.path, 'package-src');
    const tsc = spawnProcess(process.execPath, [
      join(SOURCE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(SOURCE_ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(packageDir, 'dist'),
    ]);
    const built = await tsc.waitForExit(170_000);
    if (built.code !== 0) throw new Error(`the build failed\n${tsc.describe()}`);
    for (const file of ['package.json', 'README.md', 'LICENSE'])
      if (existsSync(join(SOURCE_ROOT, file))) copyFileSync(join(SOURCE_ROOT, file), join(packageDir, file));
    await npm(['pack', '--ignore-scripts', '--pack-destination', work.path], packageDir);
    const [tarball] = readdirSync(work.path).filter((f) => f.endsWith('.tgz'));

    mkdirSync(join(appDir, 'node_modules'), { recursive: true });
    const untar = spawnProcess('tar', ['-xzf', join(work.path, tarball), '-C', join(appDir, 'node_modules')]);
    if ((await untar.waitForExit(60_000)).code !== 0) throw new Error(`tar failed\n${untar.describe()}`);
    renameSync(join(appDir, 'node_modules', 'package'), installed);
    const repoModules = join(SOURCE_ROOT, 'node_modules');
    for (const entry of readdirSync(repoModules)) {
      if (!LEFT_OUT.has(entry)) symlinkSync(join(repoModules, entry), join(appDir, 'node_modules', entry));
    }
    copyFileSync(APP_FIXTURE, join(appDir, 'main.js'));

    const app = spawnProcess(process.execPath, ['main.js'], {
      cwd: appDir,
      env: { DB: dbDir.file('app.db'), PG_URL: pg.url, PG_SCHEMA: pg.schema, NODE_PATH: undefined, ...npmEnv() },
    });
    const exit = await app.waitForExit(120_000);
    if (exit.code !== 0) throw new Error(`the app crashed\n${app.describe()}`);
    stdout = app.stdout();
  }, 180_000);

  afterAll(async () => {
    await killStrayChildren();
    work.remove();
    dbDir.remove();
  });

  it('declares better-sqlite3 an optional peer', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.peerDependencies).toHaveProperty('better-sqlite3');
    expect(manifest.peerDependenciesMeta).toEqual(expect.objectContaining({ 'better-sqlite3': { optional: true } }));
  });

  it('loads by name from the app, without better-sqlite3 anywhere it could resolve', () => {
    expect(printed(stdout, 'SQLITE_RESOLVED')).toBeNull();
    expect(printed(stdout, 'REQUIRE_FAILED')).toBeUndefined();
    expect(realpathSync(printed<string>(stdout, 'RESOLVED')!)).toBe(realpathSync(join(installed, 'dist', 'index.js')));
    expect(printed(stdout, 'EXPORTS')).toEqual(
      expect.arrayContaining(['AutoMigrationModule', 'AutoMigrationService', 'Migration', 'AutoMigrationError', 'DatabaseUnavailableError']),
    );
  });

  it('refuses to start on an SQLite database with DATABASE_UNAVAILABLE, saying to install better-sqlite3, and creates no file', () => {
    expect(printed(stdout, 'STARTED')).toBeUndefined();
    const failure = printed<{ name: string; code: string; message: string }>(stdout, 'START_FAILED');
    expect(failure).toMatchObject({ name: 'DatabaseUnavailableError', code: 'DATABASE_UNAVAILABLE' });
    expect(failure!.message).toContain(dbDir.file('app.db'));
    expect(failure!.message).toContain('npm install better-sqlite3');
    expect(readdirSync(dbDir.path)).toEqual([]);
  });

  it('migrates a PostgreSQL database and serves its status: a PostgreSQL app needs no better-sqlite3', async () => {
    expect(printed(stdout, 'PG_START_FAILED')).toBeUndefined();
    expect(printed(stdout, 'PG_STARTED')).toEqual({ state: 'up-to-date', applied: ['001_things'] });
    expect((await pg.query(`SELECT name FROM ${pg.schema}.migrations`)).rows).toEqual([{ name: '001_things' }]);
  });
});

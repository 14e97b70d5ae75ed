import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import { freePort, httpGet, killStrayChildren, REPO_ROOT, type RunningChild, spawnProcess, waitForHttp } from '../helpers/child-process';
import { tempDir } from '../helpers/temp-dir';

/*
 * The package as users get it: `npm pack` (which builds dist/ in prepack), then `npm install` of
 * the tarball into a throwaway app and a plain CommonJS app that requires it by name.
 *
 * The app folder lives in the repo's gitignored .tmp/, so that the peer dependencies (@nestjs/*,
 * better-sqlite3, rxjs, reflect-metadata) resolve from the repo's own node_modules by walking up,
 * which spares a native rebuild of better-sqlite3.
 */

jest.setTimeout(180_000);

const REPO_PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
};
const APP_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'pack-app', 'main.js');
const CJS_MODULE_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'pack-app', 'app.module.js');
const ESM_MODULE_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'pack-app', 'app.module.mjs');

/** The parent's environment without npm's own variables (set when the suite runs under `npm test`). */
function npmEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (/^npm_/i.test(key)) env[key] = undefined;
  return env;
}

async function npm(args: string[], cwd: string): Promise<RunningChild> {
  const child = spawnProcess('npm', args, { cwd, env: npmEnv() });
  const exit = await child.waitForExit(170_000);
  if (exit.code !== 0) throw new Error(`npm ${args.join(' ')} failed\n${child.describe()}`);
  return child;
}

describe('npm pack', () => {
  const packDir = tempDir('auto-migration-pack-');
  let tarball: string;
  let entries: string[];

  beforeAll(async () => {
    await npm(['pack', '--pack-destination', packDir.path], REPO_ROOT);
    const tarballs = readdirSync(packDir.path).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toEqual([`${REPO_PACKAGE.name}-${REPO_PACKAGE.version}.tgz`]);
    tarball = join(packDir.path, tarballs[0]);
    const tar = spawnProcess('tar', ['-tzf', tarball]);
    expect((await tar.waitForExit(60_000)).code).toBe(0);
    entries = tar.stdout().split('\n').filter(Boolean).sort();
  }, 180_000);

  afterAll(async () => {
    await killStrayChildren();
    packDir.remove();
  });

  it('holds only package.json, the README (when the repo has one), a licence (when it has one) and dist/ .js / .d.ts', () => {
    // Every entry sits under package/ (npm's layout).
    expect(entries.every((e) => e.startsWith('package/'))).toBe(true);
    const files = entries.map((e) => e.slice('package/'.length));

    const allowed = (f: string) =>
      f === 'package.json' ||
      (f === 'README.md' && existsSync(join(REPO_ROOT, 'README.md'))) ||
      (/^LICEN[CS]E(\.md|\.txt)?$/.test(f) && existsSync(join(REPO_ROOT, f))) ||
      (/^dist\/.+\.js$/.test(f) && !f.endsWith('.map')) ||
      /^dist\/.+\.d\.ts$/.test(f);
    expect(files.filter((f) => !allowed(f))).toEqual([]);

    expect(files).toContain('package.json');
    expect(files.includes('README.md')).toBe(existsSync(join(REPO_ROOT, 'README.md')));
    // The entry points package.json names are there.
    expect(REPO_PACKAGE.main).toBe('dist/index.js');
    expect(REPO_PACKAGE.types).toBe('dist/index.d.ts');
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts']));
    // The command line: its bin entry point, with a shebang.
    expect(REPO_PACKAGE.bin).toEqual({ 'nest-auto-migration': 'dist/cli/main.js' });
    expect(files).toContain('dist/cli/main.js');
    // Nothing of the sources, tests, demo or maps.
    expect(files.filter((f) => /^(src|test|migrations|build|data|bench|\.tmp)\//.test(f) || f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  describe('installed into a fresh app', () => {
    let appDir: string;
    const dbDir = tempDir('auto-migration-pack-db-');

    beforeAll(async () => {
      const id = randomBytes(6).toString('hex');
      appDir = join(REPO_ROOT, '.tmp', `pack-app-${id}`);
      mkdirSync(appDir, { recursive: true });
      writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: `pack-app-${id}`, version: '1.0.0', private: true }, null, 2));
      await npm(['install', tarball, '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefer-offline'], appDir);
    }, 180_000);

    afterAll(async () => {
      await killStrayChildren();
      rmSync(appDir, { recursive: true, force: true });
      // Leave .tmp/ itself only if something else is in it.
      try {
        rmdirSync(join(REPO_ROOT, '.tmp'));
      } catch {
        /* not empty, or already gone */
      }
      dbDir.remove();
    });

    it('installs, and a plain CommonJS app requires it by name, migrates and serves the status', async () => {
      const installed = join(appDir, 'node_modules', 'nestjs-auto-migration');
      expect(existsSync(join(installed, 'package.json'))).toBe(true);
      const installedPackage = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      expect(installedPackage).toMatchObject({ name: REPO_PACKAGE.name, version: REPO_PACKAGE.version });
      expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(installed, 'src'))).toBe(false);
      // Its own dependencies came along (the peers resolve from the repo's node_modules above).
      for (const dep of ['class-validator', 'class-transformer']) {
        expect(existsSync(join(appDir, 'node_modules', dep, 'package.json'))).toBe(true);
      }

      copyFileSync(APP_FIXTURE, join(appDir, 'main.js'));
      const port = await freePort();
      const db = dbDir.file('pack-app.db');
      const app = spawnProcess(process.execPath, ['main.js'], { cwd: appDir, env: { DB: db, PORT: String(port), ...npmEnv() } });
      await app.waitForOutput(`LISTENING ${port}`, 120_000);
      await waitForHttp(`http://127.0.0.1:${port}/migrations/status`, 60_000, app);

      // Loaded from the app's node_modules, not from the repo's sources.
      const resolved = /^RESOLVED (.+)$/m.exec(app.stdout())?.[1];
      expect(resolved).toBeDefined();
      const real = realpathSync(resolved!);
      expect(real).toBe(realpathSync(join(installed, 'dist', 'index.js')));
      expect(relative(realpathSync(appDir), real).split(sep).slice(0, 2)).toEqual(['node_modules', 'nestjs-auto-migration']);
      expect(real.startsWith(join(REPO_ROOT, 'src'))).toBe(false);

      // The contract's root exports.
      const exports = JSON.parse(/^EXPORTS (.+)$/m.exec(app.stdout())![1]) as string[];
      expect(exports).toEqual(
        expect.arrayContaining([
          'AutoMigrationModule',
          'Migration',
          'AutoMigrationService',
          'MigrationHealthIndicator',
          'InjectMigrationDatabase',
          'AutoMigrationError',
        ]),
      );

      const status = await httpGet(`http://127.0.0.1:${port}/migrations/status`);
      expect(status.status).toBe(200);
      const body = status.json();
      expect(body).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false } });
      expect(body.applied.map((m: { name: string; version: string }) => [m.name, m.version])).toEqual([
        ['001_create_users', '1.0.0'],
        ['002_seed_users', '1.1.0'],
      ]);
      for (const applied of body.applied) expect(applied.appliedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      // The migration that injected a provider ran with it; the app reads through its own connection.
      const users = await httpGet(`http://127.0.0.1:${port}/users`);
      expect(users.status).toBe(200);
      expect(users.json()).toEqual([
        { id: 1, email: 'ada@example.com' },
        { id: 2, email: 'grace@example.com' },
      ]);
      expect(existsSync(db)).toBe(true);

      app.kill('SIGTERM');
      expect(await app.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGTERM' });
    });

    it('installs the nest-auto-migration bin, which boots a CommonJS and an ES module file', async () => {
      const bin = join(appDir, 'node_modules', '.bin', 'nest-auto-migration');
      expect(existsSync(bin)).toBe(true);
      expect(readFileSync(realpathSync(bin), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
      copyFileSync(CJS_MODULE_FIXTURE, join(appDir, 'app.module.js'));
      copyFileSync(ESM_MODULE_FIXTURE, join(appDir, 'app.module.mjs'));
      const cjsDb = dbDir.file('cli-cjs.db');
      const esmDb = dbDir.file('cli-esm.db');

      /** Runs the installed bin itself (shebang, executable bit), in the app folder. */
      const run = async (args: string[], db: string) => {
        const child = spawnProcess(bin, args, { cwd: appDir, env: { DB: db, ...npmEnv() } });
        const exit = await child.waitForExit(60_000);
        return { code: exit.code, stdout: child.stdout(), describe: () => child.describe() };
      };
      const expectCode = (result: { code: number | null; describe(): string }, code: number) => {
        if (result.code !== code) throw new Error(`expected exit code ${code}\n${result.describe()}`);
      };

      const [cjs, esm] = await Promise.all([
        run(['status', '--json', '--module', 'app.module.js'], cjsDb),
        run(['status', '--json', '--module', 'app.module.mjs#AppModule'], esmDb),
      ]);
      // Pending: exit 1, and stdout is exactly the status JSON.
      expectCode(cjs, 1);
      expect(JSON.parse(cjs.stdout)).toMatchObject({ state: 'pending', applied: [], pending: [{ name: '001_create_users' }, { name: '002_add_names' }] });
      expectCode(esm, 1);
      expect(JSON.parse(esm.stdout)).toMatchObject({ state: 'pending', pending: [{ name: '001_create_users', version: '1.0.0' }] });

      const up = await run(['up', '--module', 'app.module.js'], cjsDb);
      expectCode(up, 0);
      expect(up.stdout).toContain('Applied 2 migrations:');
      const after = await run(['status', '--json', '--module', 'app.module.js'], cjsDb);
      expectCode(after, 0);
      expect(JSON.parse(after.stdout).applied.map((m: { name: string }) => m.name)).toEqual(['001_create_users', '002_add_names']);
    });
  });
});

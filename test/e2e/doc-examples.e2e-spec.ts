/*
 * The documentation cannot drift from the code: every block of README.md and docs/ marked
 * `<!-- example: group/file.ts -->` compiles with its group under a user's strict settings against
 * the package's declarations, and the README's minimal app boots, migrates and answers as the
 * README says it does.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { freePort, killStrayChildren, REPO_ROOT, type RunningChild, spawnProcess, spawnTs, waitForHttp } from '../helpers/child-process';
import {
  checkExamples,
  describeFailures,
  type DocExample,
  documentationExamples,
  documentationFiles,
  examplesIn,
  unmarkedFilesIn,
} from '../helpers/doc-examples';
import { emitDeclarations } from '../helpers/type-check';

jest.setTimeout(180_000);

const examples = documentationExamples();
const minimalApp = examples.filter((example) => example.group === 'minimal-app');

function minimalFile(path: string): DocExample {
  const file = minimalApp.find((example) => example.path === path);
  if (file === undefined) throw new Error(`the README's minimal app has no ${path}`);
  return file;
}

describe('documentation examples', () => {
  let declarations: Map<string, string>;
  beforeAll(() => {
    declarations = emitDeclarations();
  });

  it('every marked example compiles with its group', () => {
    const failures = describeFailures(checkExamples(examples, declarations));
    expect(failures).toEqual([]);
  });

  it('holds the README minimal app, and leaves no whole-file example unmarked', () => {
    expect(minimalApp.map((example) => example.path).sort()).toEqual(
      ['src/app.module.ts', 'src/health.controller.ts', 'src/main.ts', 'src/migrations/001-create-users.ts'].sort(),
    );
    expect(minimalApp.every((example) => example.where.startsWith('README.md:'))).toBe(true);
    const unmarked = documentationFiles().flatMap((path) => unmarkedFilesIn(readFileSync(path, 'utf8'), relative(REPO_ROOT, path)));
    expect(unmarked).toEqual([]);
    expect(unmarkedFilesIn("```ts\n// app.ts\nimport { Module } from '@nestjs/common';\n```\n", 'page.md')).toEqual(['page.md:1']);
    expect(unmarkedFilesIn("```ts\nAutoMigrationModule.forRoot({ database: 'x' })\n```\n", 'page.md')).toEqual([]);
  });

  it('reports an example that names something the package does not export', () => {
    const broken = examples.map((example) =>
      example === minimalFile('src/app.module.ts')
        ? { ...example, source: example.source.replace('AutoMigrationModule.forRoot(', 'AutoMigrationModule.forRootX(') }
        : example,
    );
    const diagnostics = checkExamples(
      broken.filter((example) => example.group === 'minimal-app'),
      declarations,
    );
    const moduleMessages = [...diagnostics].find(([example]) => example.path === 'src/app.module.ts')?.[1] ?? [];
    expect(moduleMessages.map((d) => d.message).join('\n')).toContain('forRootX');
  });

  it('refuses a malformed marker instead of skipping its example', () => {
    expect(() => examplesIn('<!-- example: app.module.ts -->\n```ts\nexport {};\n```\n', 'page.md')).toThrow('page.md:1');
    expect(() => examplesIn('<!-- example: g/app.module.ts -->\n\n```ts\nexport {};\n```\n', 'page.md')).toThrow('must open a ```ts block');
    expect(examplesIn('<!-- example: g/src/a.ts -->\n```ts\nexport const a = 1;\n```\n', 'page.md')).toEqual([
      { group: 'g', path: 'src/a.ts', where: 'page.md:1', source: 'export const a = 1;\n' },
    ]);
  });
});

describe("the README's minimal app", () => {
  let project: string;
  let child: RunningChild | undefined;

  beforeEach(() => {
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    // Inside the repository, so that the app resolves Nest and better-sqlite3 as a user's app would.
    project = mkdtempSync(join(REPO_ROOT, '.tmp', 'minimal-app-'));
    for (const example of minimalApp) write(example.path, example.source);
  });

  afterEach(async () => {
    child?.kill('SIGKILL');
    await killStrayChildren();
    rmSync(project, { recursive: true, force: true });
  });

  function write(path: string, source: string): void {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), source);
  }

  async function start(): Promise<{ port: number; app: RunningChild }> {
    const port = await freePort();
    const app = spawnTs(join(project, 'src', 'main.ts'), { cwd: project, paths: true, env: { PORT: String(port) } });
    child = app;
    return { port, app };
  }

  async function stop(app: RunningChild): Promise<void> {
    app.kill('SIGTERM');
    // Nest closes the app on SIGTERM, then re-raises the signal.
    expect(await app.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGTERM' });
  }

  it('boots, applies its migration before listening, and reports it in status and health', async () => {
    const { port, app } = await start();
    const health = await waitForHttp(`http://127.0.0.1:${port}/health`, 60_000, app);
    expect([health.status, health.json()]).toEqual([
      200,
      expect.objectContaining({ status: 'ok', info: { migrations: { state: 'up-to-date', applied: 1, status: 'up' } } }),
    ]);
    const status = (await waitForHttp(`http://127.0.0.1:${port}/migrations/status`, 10_000, app)).json();
    expect([status.state, status.applied.map((m: { name: string }) => m.name), status.pending]).toEqual(['up-to-date', ['001_create_users'], []]);
    expect(app.stdout()).toMatch(/\[1\/1\] 001_create_users \(\d+ ms\)/);
    await stop(app);

    const db = new BetterSqlite3(join(project, 'data', 'app.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'users'").pluck().get()).toBe('users');
    } finally {
      db.close();
    }
  });

  it('stops when the migration throws, naming it and saying its changes were rolled back, as the README says', async () => {
    write(
      minimalFile('src/migrations/001-create-users.ts').path,
      minimalFile('src/migrations/001-create-users.ts').source.replace('CREATE TABLE users', 'CREATE TABLE users oops'),
    );
    const { app } = await start();
    expect(await app.waitForExit(60_000)).toEqual({ code: 1, signal: null });
    expect(app.stderr()).toMatch(/Start-up failed: [^\n]*001_create_users/);
    expect(app.stderr()).toContain('Its changes were rolled back');
  });

  it('refuses to start when an applied migration was edited (CHECKSUM_MISMATCH)', async () => {
    const first = await start();
    await waitForHttp(`http://127.0.0.1:${first.port}/health`, 60_000, first.app);
    await stop(first.app);

    const migration = minimalFile('src/migrations/001-create-users.ts');
    write(migration.path, migration.source.replace('email TEXT NOT NULL UNIQUE', 'email TEXT NOT NULL'));
    const second = await start();
    expect(await second.app.waitForExit(60_000)).toEqual({ code: 1, signal: null });
    expect(second.app.stderr()).toMatch(/Start-up failed: Applied migration changed since it was applied:\s+- "001_create_users"/);
    expect(second.app.stderr()).toContain('ChecksumMismatchError');
  });
});

describe("the testing page's Jest examples", () => {
  let project: string | undefined;
  afterEach(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('pass when Jest runs them as written, on SQLite and on PostgreSQL', async () => {
    const groups = ['testing', 'testing-pg'];
    const files = examples.filter((example) => groups.includes(example.group));
    expect(files.filter((example) => example.path.endsWith('.spec.ts')).length).toBeGreaterThanOrEqual(3);
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    project = mkdtempSync(join(REPO_ROOT, '.tmp', 'testing-page-'));
    for (const example of files) {
      const path = join(project, example.group, example.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, example.source);
    }
    // A user's Jest set-up: ts-jest, and the package resolved by name (here from its source).
    const config = {
      rootDir: project,
      testEnvironment: 'node',
      testRegex: '\\.spec\\.ts$',
      transform: { '^.+\\.ts$': [require.resolve('ts-jest'), { tsconfig: join(REPO_ROOT, 'tsconfig.json'), isolatedModules: true }] },
      moduleNameMapper: { '^nestjs-auto-migration$': join(REPO_ROOT, 'src', 'auto-migration') },
    };
    const jest = spawnProcess(process.execPath, [require.resolve('jest/bin/jest'), '--runInBand', '--ci', '--config', JSON.stringify(config)], {
      cwd: project,
      env: { TEST_DATABASE_URL: process.env.PG_TEST_URL },
    });
    const exit = await jest.waitForExit(170_000);
    expect([exit, jest.describe()]).toEqual([{ code: 0, signal: null }, expect.stringMatching(/Tests: +\d+ passed, \d+ total/)]);
    const suites = files.filter((example) => example.path.endsWith('.spec.ts')).length;
    expect(jest.stderr()).toContain(`Test Suites: ${suites} passed, ${suites} total`);
  });
});

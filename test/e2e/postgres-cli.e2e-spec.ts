import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStrayChildren, REPO_ROOT, runCli } from '../helpers/child-process';
import { usePgSchema } from '../helpers/postgres';

/*
 * `nest-auto-migration` on PostgreSQL: the demo's module (src/app.module.ts) with DATABASE_URL
 * set, in a child process, against the test run's server.
 */

jest.setTimeout(120_000);

const DEMO_MODULE = `${join(REPO_ROOT, 'src', 'app.module.ts')}#AppModule`;
const DEMO = ['001_create_users', '002_create_posts', '003_index_posts_and_backfill_slugs'];

describe('the command line on PostgreSQL', () => {
  const pg = usePgSchema('cli');
  afterAll(() => killStrayChildren());

  const cli = (...args: string[]) =>
    runCli([...args, '--module', DEMO_MODULE], { paths: true, cwd: REPO_ROOT, env: { DATABASE_URL: pg.url, DATABASE_SCHEMA: pg.schema, DATABASE: undefined } });

  it('status, up --dry-run, up, down, and a refused restore, each saying what happened, with no password in any output', async () => {
    const password = new URL(pg.url).password;
    const before = await cli('status', '--json');
    expect(JSON.parse(before.stdout)).toMatchObject({ state: 'pending', pending: DEMO.map((name) => expect.objectContaining({ name })) });

    const dry = await cli('up', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run in a transaction of the live database that was rolled back');
    expect(dry.stdout).toContain('CREATE TABLE users');
    expect(dry.stdout).toMatch(/003_index_posts_and_backfill_slugs[^\n]*transaction: false[\s\S]*not rehearsed/);
    expect((await pg.query(`SELECT to_regclass('${pg.schema}.users') AS t`)).rows[0].t).toBeNull();

    const up = await cli('up');
    expect(up.code).toBe(0);
    expect((await pg.query<{ name: string }>(`SELECT name FROM ${pg.schema}.migrations ORDER BY id`)).rows.map((r) => r.name)).toEqual(DEMO);

    const down = await cli('down', '--steps', '1');
    expect(down.code).toBe(0);
    expect((await pg.query<{ name: string }>(`SELECT name FROM ${pg.schema}.migrations ORDER BY id`)).rows.map((r) => r.name)).toEqual(DEMO.slice(0, 2));

    const restore = await cli('restore', 'anything.backup', '--force');
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain('error RESTORE_REFUSED');
    expect(restore.stderr).toContain('point-in-time recovery');

    for (const run of [before, dry, up, down, restore]) expect(run.stdout + run.stderr).not.toContain(password);
  });

  it("create writes a class for the module's database: MigrationInterface<PoolClient> on PostgreSQL, and a SQL template naming PostgreSQL's refusals", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-create-'));
    try {
      const env = { DATABASE_URL: pg.url, DATABASE_SCHEMA: pg.schema, DATABASE: undefined };
      const made = await runCli(['create', 'add_tags', '--dir', dir, '--module', DEMO_MODULE], { paths: true, cwd: REPO_ROOT, env });
      expect(made.code).toBe(0);
      const file = readdirSync(dir).find((f) => f.endsWith('_add_tags.ts'))!;
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source).toContain("import type { PoolClient } from 'pg';");
      expect(source).toContain('implements MigrationInterface<PoolClient>');
      expect(source).not.toContain('better-sqlite3');
      const sql = await runCli(['create', 'add_index', '--sql', '--dir', dir, '--module', DEMO_MODULE], { paths: true, cwd: REPO_ROOT, env });
      expect(sql.code).toBe(0);
      const up = readdirSync(dir).find((f) => f.endsWith('_add_index.sql'))!;
      expect(readFileSync(join(dir, up), 'utf8')).toContain('PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

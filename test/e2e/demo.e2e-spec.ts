import BetterSqlite3 from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, httpGet, killStrayChildren, REPO_ROOT, spawnTs, waitForHttp } from '../helpers/child-process';
import { usePgSchema } from '../helpers/postgres';
import { tempDir } from '../helpers/temp-dir';

/*
 * The demo app (src/main.ts) as a user runs it: a real process, a real port, a real file under
 * the working directory.
 */

jest.setTimeout(180_000);

const DEMO = join(REPO_ROOT, 'src', 'main.ts');
const DEMO_MIGRATIONS = [
  ['001_create_users', '1.0.0'],
  ['002_create_posts', '1.1.0'],
  ['003_index_posts_and_backfill_slugs', '1.2.0'],
];

describe('the demo app', () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir('auto-migration-demo-');
  });

  afterEach(async () => {
    await killStrayChildren();
    dir.remove();
  });

  it('migrates data/app.db under its working directory, serves status, health and users, and stops on SIGTERM', async () => {
    const port = await freePort();
    const demo = spawnTs(DEMO, { paths: true, cwd: dir.path, env: { PORT: String(port), DATABASE: undefined, DATABASE_URL: undefined } });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/migrations/status`, 120_000, demo);

    const status = await httpGet(`${base}/migrations/status`);
    expect(status.status).toBe(200);
    const body = status.json();
    expect(body).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false } });
    expect(body.applied.map((m: { name: string; version: string }) => [m.name, m.version])).toEqual(DEMO_MIGRATIONS);
    // No file path in the status (the contract's rule).
    expect(status.body).not.toContain(dir.path);

    const health = await httpGet(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', info: { migrations: { status: 'up' } } });

    const users = await httpGet(`${base}/users`);
    expect(users.status).toBe(200);
    expect(users.json()).toEqual([]);

    // The relative default path landed under the working directory, and the start-up log names it.
    const file = join(dir.path, 'data', 'app.db');
    expect(existsSync(file)).toBe(true);
    expect(demo.stdout() + demo.stderr()).toContain(file);
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT name, version FROM migrations ORDER BY id').all() as { name: string; version: string }[];
      expect(rows.map((r) => [r.name, r.version])).toEqual(DEMO_MIGRATIONS);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['migrations', 'migration_lock', 'users', 'posts']));
      const postColumns = (db.prepare('PRAGMA table_info(posts)').all() as { name: string }[]).map((c) => c.name);
      expect(postColumns).toContain('slug');
    } finally {
      db.close();
    }

    demo.kill('SIGTERM');
    // Nest's shutdown hooks ran and re-raised the signal: a clean stop.
    expect(await demo.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('exits non-zero with a clear error naming the path when the database cannot be opened', async () => {
    const notAFolder = dir.file('file.txt');
    writeFileSync(notAFolder, 'a regular file, not a folder');
    const database = join(notAFolder, 'app.db');
    const port = await freePort();

    const demo = spawnTs(DEMO, { paths: true, cwd: dir.path, env: { PORT: String(port), DATABASE: database, DATABASE_URL: undefined } });
    const exit = await demo.waitForExit(120_000);

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(demo.stderr()).toContain(database);
    expect(demo.stderr()).toContain('Cannot open');
    // It never listened.
    expect(demo.stdout()).not.toContain('Demo listening');
    await expect(httpGet(`http://127.0.0.1:${port}/migrations/status`, 2_000)).rejects.toThrow();
  });

  describe('on PostgreSQL (DATABASE_URL set)', () => {
    const pg = usePgSchema('demo');

    it('migrates the schema it is given (CREATE INDEX CONCURRENTLY outside a transaction), serves status, health and users', async () => {
      const port = await freePort();
      // The application's own queries find its tables through the search path its URL sets, as an app on a schema of its own does.
      const url = `${pg.url}?options=${encodeURIComponent(`-c search_path=${pg.schema}`)}`;
      const demo = spawnTs(DEMO, {
        paths: true,
        cwd: dir.path,
        env: { PORT: String(port), DATABASE: undefined, DATABASE_URL: url, DATABASE_SCHEMA: pg.schema },
      });
      const base = `http://127.0.0.1:${port}`;
      await waitForHttp(`${base}/migrations/status`, 120_000, demo);

      const status = await httpGet(`${base}/migrations/status`);
      expect(status.json()).toMatchObject({ state: 'up-to-date', pending: [], lastError: null, lock: { held: false } });
      expect(status.json().applied.map((m: { name: string; version: string }) => [m.name, m.version])).toEqual(DEMO_MIGRATIONS);
      expect((await httpGet(`${base}/health`)).status).toBe(200);
      await pg.query(`INSERT INTO ${pg.schema}.users (email, display_name) VALUES ('ada@example.com', 'Ada')`);
      expect((await httpGet(`${base}/users`)).json()).toEqual([{ id: 1, email: 'ada@example.com', displayName: 'Ada' }]);
      const indexes = await pg.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'posts' ORDER BY 1`, [pg.schema]);
      expect(indexes.rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(['idx_posts_author_published', 'idx_posts_slug']));
      // No password in anything the demo printed.
      expect(demo.stdout() + demo.stderr()).not.toContain(new URL(pg.url).password);
      expect(existsSync(join(dir.path, 'data'))).toBe(false);

      demo.kill('SIGTERM');
      expect(await demo.waitForExit(60_000)).toEqual({ code: null, signal: 'SIGTERM' });
    });
  });
});

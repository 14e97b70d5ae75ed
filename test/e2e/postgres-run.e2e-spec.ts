import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import request from 'supertest';
import { TerminusModule } from '@nestjs/terminus';
import { AutoMigrationService, type PostgresAutoMigrationModuleOptions } from '../../src/auto-migration';
import { HealthController } from '../../src/health.controller';
import { lockKeyFor } from '../../src/auto-migration/driver/postgres/pg-lock-key';
import { bootApp, bootFailure } from '../helpers/boot';
import { pgMigration } from '../helpers/pg-migrations';
import { usePgSchema } from '../helpers/postgres';

/*
 * Runs on a real PostgreSQL server (the test run's): each test on a schema of its own, with the
 * module's tables in it.
 */

const pg = usePgSchema('run');
let n = 0;

/** A schema of its own for one test, inside the file's (dropped with it). */
async function freshSchema(): Promise<string> {
  const schema = `${pg.schema}_${++n}`;
  await pg.query(`CREATE SCHEMA ${schema}`);
  afterAllDrops.push(schema);
  return schema;
}
const afterAllDrops: string[] = [];
afterAll(async () => {
  for (const schema of afterAllDrops) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

function options(schema: string, more: Partial<PostgresAutoMigrationModuleOptions> = {}): never {
  return { postgres: { connectionString: pg.url, schema }, ...more } as never;
}

async function names(schema: string): Promise<string[]> {
  return (await pg.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name);
}

async function tables(schema: string): Promise<string[]> {
  return (await pg.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])).rows.map((r) => r.t);
}

async function ourLocks(): Promise<number> {
  return (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2`)).rows[0].n;
}

describe('PostgreSQL: runs', () => {
  it('applies pending migrations once (a CREATE INDEX CONCURRENTLY with transaction: false), records them, serves status and health, leaves no lock', async () => {
    const schema = await freshSchema();
    const migrations = [
      pgMigration('001_users', 'CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL)'),
      pgMigration('002_index', 'CREATE INDEX CONCURRENTLY users_email ON users (email)', { transaction: false }),
    ];
    const { app, logger } = await bootApp(options(schema), { migrations, imports: [TerminusModule], controllers: [HealthController] });
    try {
      const status = await app.get(AutoMigrationService).getStatus();
      expect(status).toMatchObject({ state: 'up-to-date', pending: [], lock: { held: false } });
      expect(status.applied.map((m) => m.name)).toEqual(['001_users', '002_index']);
      await request(app.getHttpServer()).get('/health').expect(200);
      expect(await names(schema)).toEqual(['001_users', '002_index']);
      expect((await pg.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'users_email'`, [schema])).rowCount).toBe(1);
      expect(await ourLocks()).toBe(0);
      expect(logger.lines.some((l) => l.includes(`Database: postgres://`) && l.includes(`(schema "${schema}")`))).toBe(true);
    } finally {
      await app.close();
    }
    const again = await bootApp(options(schema), { migrations });
    expect((await again.app.get(AutoMigrationService).getStatus()).applied).toHaveLength(2);
    await again.app.close();
  });

  it("keeps the contract's tables and columns: the seed's queries run on them", async () => {
    const schema = await freshSchema();
    const { app } = await bootApp(options(schema), { migrations: [pgMigration('001_a', 'CREATE TABLE a (id int)')] });
    await app.close();
    const client = await pg.client();
    await client.query(`SET search_path = ${schema}`);
    const recent = await client.query('SELECT name, version, applied_at, execution_time_ms FROM migrations ORDER BY applied_at DESC');
    expect(recent.rows).toEqual([
      { name: '001_a', version: '1.0.0', applied_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), execution_time_ms: expect.any(Number) },
    ]);
    expect((await client.query(`SELECT * FROM migrations WHERE name = '001_a'`)).rows[0]).toMatchObject({ id: '1', description: 'test 001_a' });
    expect((await client.query('SELECT * FROM migration_lock')).rows).toEqual([expect.objectContaining({ id: 1, in_progress: 0, started_at: null })]);
    await client.query('UPDATE migration_lock SET in_progress = 0, started_at = NULL WHERE id = 1');
    const indexes = (await client.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'migrations' ORDER BY 1`, [schema])).rows.map(
      (r) => r.indexname,
    );
    expect(indexes).toEqual(expect.arrayContaining(['idx_migrations_applied_at', 'idx_migrations_name', 'idx_migrations_version']));
  });

  it('shows a change by another connection (a revert by hand) in the next status', async () => {
    const schema = await freshSchema();
    const migrations = [pgMigration('001_a', 'CREATE TABLE a (id int)'), pgMigration('002_b', 'CREATE TABLE b (id int)')];
    const { app } = await bootApp(options(schema), { migrations });
    try {
      const service = app.get(AutoMigrationService);
      expect((await service.getStatus()).state).toBe('up-to-date');
      await pg.query(`DELETE FROM ${schema}.migrations WHERE name = '002_b'`);
      const status = await service.getStatus();
      expect(status.state).toBe('pending');
      expect(status.pending.map((m) => m.name)).toEqual(['002_b']);
    } finally {
      await app.close();
    }
  });

  it('refuses a migrations table another tool made in the schema, saying to give the module a schema of its own; changes nothing', async () => {
    const schema = await freshSchema();
    await pg.query(`CREATE TABLE ${schema}.migrations (id serial PRIMARY KEY, timestamp bigint, name text)`);
    const { error } = await bootFailure(options(schema), { migrations: [pgMigration('001_a', 'CREATE TABLE a (id int)')] });
    expect(error).toMatchObject({ code: 'FOREIGN_HISTORY_TABLE', table: 'migrations' });
    expect(error.message).toContain('or give the module a schema of its own (postgres.schema); nothing was changed.');
    expect(error.message).not.toContain('database file');
    expect(await tables(schema)).toEqual(['migrations']);
  });

  it("transactionMode 'all': a failure in the third of five leaves the schema as it was and no history row", async () => {
    const schema = await freshSchema();
    const migrations = ['001_a', '002_b', '003_c', '004_d', '005_e'].map((name, i) =>
      pgMigration(name, i === 2 ? 'SELECT * FROM no_such_table' : `CREATE TABLE ${name.slice(4)} (id int)`),
    );
    const { error } = await bootFailure(options(schema, { transactionMode: 'all' }), { migrations });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '003_c' });
    expect(error.message).toContain('no_such_table');
    expect(await tables(schema)).toEqual(['migration_attempts', 'migration_lock', 'migration_meta', 'migrations', 'migrations_archive']);
    expect(await names(schema)).toEqual([]);
    expect(await ourLocks()).toBe(0);
  });

  it('a statement PostgreSQL refuses in a transaction, from a class: the advice says transaction: false; nothing kept', async () => {
    const schema = await freshSchema();
    const migrations = [pgMigration('001_t', 'CREATE TABLE t (v int)'), pgMigration('002_i', 'CREATE INDEX CONCURRENTLY t_v ON t (v)')];
    const { error } = await bootFailure(options(schema), { migrations });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_i' });
    expect(error.message).toContain('cannot run inside a transaction block');
    expect(error.message).toContain('transaction: false');
    expect(await names(schema)).toEqual(['001_t']);
  });

  it('an up() that catches a failed statement: the error says the transaction is aborted and how savepoints help', async () => {
    const schema = await freshSchema();
    const swallow = pgMigration('001_swallow', async (db: PoolClient) => {
      await db.query('CREATE TABLE kept (id int)');
      await db.query('SELECT * FROM missing_table').catch(() => undefined);
      await db.query('CREATE TABLE after_error (id int)');
    });
    const { error } = await bootFailure(options(schema), { migrations: [swallow] });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_swallow' });
    expect(error.message).toContain('25P02');
    expect(error.message).toContain('SAVEPOINT');
    expect(await tables(schema)).not.toContain('kept');
  });

  it('a failed CREATE INDEX CONCURRENTLY names the invalid index it left, in the error and in the next start’s refusal', async () => {
    const schema = await freshSchema();
    const migrations = [
      pgMigration('001_dups', 'CREATE TABLE d (v int); INSERT INTO d VALUES (1), (1)'),
      pgMigration('002_unique', 'CREATE UNIQUE INDEX CONCURRENTLY d_v ON d (v)', { transaction: false }),
    ];
    const { error } = await bootFailure(options(schema), { migrations });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_unique' });
    expect(error.message).toContain(`invalid index: ${schema}.d_v`);
    expect(error.message).toContain(`DROP INDEX CONCURRENTLY ${schema}.d_v`);
    const next = await bootFailure(options(schema), { migrations });
    expect(next.error).toMatchObject({ code: 'INTERRUPTED_MIGRATION' });
    expect(next.error.message).toContain('d_v');
  });

  it('the fence: a migration whose lock session was ended cannot commit (LOCK_LOST), and nothing of it is kept', async () => {
    const schema = await freshSchema();
    // Only this schema's lock: the server may be shared (PG_TEST_URL).
    const key = lockKeyFor(schema);
    const killLockSession = pgMigration('001_killer', async (db: PoolClient) => {
      await db.query('CREATE TABLE should_not_stay (id int)');
      await db.query(
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted AND l.pid <> pg_backend_pid()`,
        [key.namespace, key.key],
      );
    });
    const { error } = await bootFailure(options(schema), { migrations: [killLockSession] });
    expect(error).toMatchObject({ code: 'LOCK_LOST', migration: '001_killer' });
    expect(error.message).toContain('rolled back');
    expect(await tables(schema)).not.toContain('should_not_stay');
    expect(await names(schema)).toEqual([]);
  });

  it('a DDL statement waiting for a table lock gives up after ddl.lockTimeoutMs, with advice', async () => {
    const schema = await freshSchema();
    const { app } = await bootApp(options(schema), { migrations: [pgMigration('001_t', 'CREATE TABLE busy (id int)')] });
    await app.close();
    const holder = await pg.client();
    await holder.query(`BEGIN; SELECT * FROM ${schema}.busy`);
    try {
      const started = Date.now();
      const { error } = await bootFailure(options(schema, { postgres: { connectionString: pg.url, schema, ddl: { lockTimeoutMs: 300 } } }), {
        migrations: [pgMigration('001_t', 'CREATE TABLE busy (id int)'), pgMigration('002_alter', 'ALTER TABLE busy ADD COLUMN v int')],
      });
      expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_alter' });
      expect(error.message).toContain('lockTimeoutMs');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});

describe('PostgreSQL: SQL files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-sql-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function folder(files: Record<string, string>): string {
    const path = mkdtempSync(join(dir, 'm-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
    return path;
  }

  it('runs a transaction: false file statement by statement ($$ bodies and two CREATE INDEX CONCURRENTLY), with one history row', async () => {
    const schema = await freshSchema();
    const migrationsDir = folder({
      '001_table.sql': '-- version: 1.0.0\nCREATE TABLE items (id int, name text);\n',
      '002_concurrent.sql':
        '-- version: 1.0.0\n-- transaction: false\nCREATE INDEX CONCURRENTLY items_id ON items (id);\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n' +
        'CREATE FUNCTION items_count() RETURNS bigint LANGUAGE plpgsql AS $$\nDECLARE n bigint;\nBEGIN\n  SELECT count(*) INTO n FROM items;\n  RETURN n;\nEND;\n$$;\n',
    });
    const { app } = await bootApp(options(schema, { migrationsDir }));
    await app.close();
    expect(await names(schema)).toEqual(['001_table', '002_concurrent']);
    const found = await pg.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexname IN ('items_id', 'items_name')`, [schema]);
    expect(found.rows[0].n).toBe(2);
    const client = await pg.client();
    await client.query(`SET search_path = ${schema}`);
    expect((await client.query('SELECT items_count() AS n')).rows[0].n).toBe('0');
  });

  it('a transactional file whose last statement fails leaves no table, no row and no history row', async () => {
    const schema = await freshSchema();
    const migrationsDir = folder({
      '001_five.sql':
        '-- version: 1.0.0\nCREATE TABLE one (id int);\nCREATE TABLE two (id int);\nINSERT INTO one VALUES (1);\nCREATE TABLE three (id int);\nSELECT * FROM missing;\n',
    });
    const { error } = await bootFailure(options(schema, { migrationsDir }));
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_five' });
    expect((await tables(schema)).filter((t) => !t.startsWith('migration'))).toEqual([]);
    expect(await names(schema)).toEqual([]);
  });

  it('refuses, at start-up and before connecting, a transactional file with CREATE INDEX CONCURRENTLY: names the file and line, says to add "-- transaction: false"', async () => {
    const schema = await freshSchema();
    const migrationsDir = folder({
      '001_bad.sql': '-- version: 1.0.0\nCREATE TABLE x (id int);\n-- a comment naming VACUUM is not a statement\nCREATE INDEX CONCURRENTLY x_id ON x (id);\n',
    });
    const { error } = await bootFailure(options(schema, { migrationsDir }));
    expect(error).toMatchObject({ code: 'INVALID_MIGRATION' });
    expect(error.message).toContain('001_bad.sql');
    expect(error.message).toContain('line 4: CREATE INDEX CONCURRENTLY cannot run inside a transaction block');
    expect(error.message).toContain('-- transaction: false');
    expect(error.message).not.toContain('VACUUM');
    expect(await tables(schema)).toEqual([]);
  });
});

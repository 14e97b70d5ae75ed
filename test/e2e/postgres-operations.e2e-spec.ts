import { hostname } from 'node:os';
import { Injectable } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { InjectMigrationDatabase } from '../../src/auto-migration';
import { AutoMigrationService, type BackupHookContext, type PostgresAutoMigrationModuleOptions } from '../../src/auto-migration';
import { lockKeyFor } from '../../src/auto-migration/driver/postgres/pg-lock-key';
import { bootApp, bootFailure } from '../helpers/boot';
import { pgMigration } from '../helpers/pg-migrations';
import { usePgSchema } from '../helpers/postgres';

/*
 * The operator's side on a real PostgreSQL server: backups through the hook, the dry run, what is
 * refused (restore, file backups), secrets, status naming the lock holder, revert and archive.
 */

const pg = usePgSchema('ops');
let n = 0;
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

async function freshSchema(): Promise<string> {
  const schema = `${pg.schema}_${++n}`;
  await pg.query(`CREATE SCHEMA ${schema}`);
  schemas.push(schema);
  return schema;
}

function options(schema: string, more: Partial<PostgresAutoMigrationModuleOptions> = {}): never {
  return { postgres: { connectionString: pg.url, schema }, ...more } as never;
}

async function names(schema: string): Promise<string[]> {
  return (await pg.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name);
}

@Injectable()
class UsesPool {
  constructor(@InjectMigrationDatabase() readonly db: Pool) {}
}

const first = () => pgMigration('001_a', 'CREATE TABLE a (id int)', {}, 'DROP TABLE a');
const second = () => pgMigration('002_b', 'CREATE TABLE b (id int)', {}, 'DROP TABLE b');

describe('PostgreSQL: backups', () => {
  it('calls the backup hook once, under the lock, before anything is written, with the newest applied and the pending; status shows its id', async () => {
    const schema = await freshSchema();
    const a = first();
    await (await bootApp(options(schema), { migrations: [a] })).app.close();
    const calls: { context: BackupHookContext; history: string[] }[] = [];
    const run = async (context: BackupHookContext) => {
      calls.push({ context, history: await names(schema) });
      return { id: 'snapshot-42', sizeBytes: 1234 };
    };
    const { app, logger } = await bootApp(options(schema, { backup: { run } }), { migrations: [a, second()] });
    try {
      expect(calls).toEqual([{ context: { newestMigration: '001_a', pending: ['002_b'] }, history: ['001_a'] }]);
      expect((await app.get(AutoMigrationService).getStatus()).lastBackup).toMatchObject({ file: 'snapshot-42', sizeBytes: 1234 });
      expect(logger.lines.join('\n')).not.toContain("PostgreSQL's default");
    } finally {
      await app.close();
    }
    // Nothing pending: the hook is not called.
    await (await bootApp(options(schema, { backup: { run } }), { migrations: [a, second()] })).app.close();
    expect(calls).toHaveLength(1);
  });

  it('a failing hook stops the run with BACKUP_FAILED, nothing applied', async () => {
    const schema = await freshSchema();
    const { error } = await bootFailure(
      options(schema, {
        backup: {
          run: () => {
            throw new Error('snapshot API said no');
          },
        },
      }),
      { migrations: [first()] },
    );
    expect(error).toMatchObject({ code: 'BACKUP_FAILED' });
    expect(error.message).toContain('snapshot API said no');
    expect(error.message).toContain('No migration ran');
    expect((await pg.query(`SELECT to_regclass('${schema}.a') AS t`)).rows[0].t).toBeNull();
  });

  it('without a hook, says at start-up that PostgreSQL takes no backup by default; backup() and restore() are refused with advice', async () => {
    const schema = await freshSchema();
    const { app, logger } = await bootApp(options(schema), { migrations: [first()] });
    try {
      expect(logger.lines.some((l) => l.includes("No backup before migrating (PostgreSQL's default)"))).toBe(true);
      const service = app.get(AutoMigrationService);
      await expect(service.backup()).rejects.toMatchObject({ code: 'BACKUP_DISABLED', message: expect.stringContaining('pg_dump') });
      await expect(service.restore('anything.backup', { force: true })).rejects.toMatchObject({
        code: 'RESTORE_REFUSED',
        message: expect.stringContaining('point-in-time recovery'),
      });
    } finally {
      await app.close();
    }
  });
});

describe('PostgreSQL: dry run', () => {
  it('runs the pending transactional migrations in a transaction it rolls back, lists their statements, lists transaction: false ones as not rehearsed', async () => {
    const schema = await freshSchema();
    const a = first();
    await (await bootApp(options(schema), { migrations: [a] })).app.close();
    const migrations = [
      a,
      pgMigration('002_items', async (db: PoolClient) => {
        await db.query('CREATE TABLE items (id int)');
        await db.query('INSERT INTO items VALUES ($1)', [1]);
      }),
      pgMigration('003_index', 'CREATE INDEX CONCURRENTLY items_id ON items (id)', { transaction: false }),
      pgMigration('004_more', 'ALTER TABLE items ADD COLUMN name text'),
    ];
    const { app } = await bootApp(options(schema, { mode: 'verify', failOnError: false }), { migrations });
    try {
      const report = await app.get(AutoMigrationService).dryRun();
      expect(report.on).toBe('rolled-back transaction');
      expect(report.failed).toBeNull();
      expect(report.migrations.map((m) => [m.name, m.rehearsed])).toEqual([
        ['002_items', true],
        ['003_index', false],
        ['004_more', true],
      ]);
      expect(report.migrations[0].statements.map((s) => s.sql)).toEqual(['CREATE TABLE items (id int)', 'INSERT INTO items VALUES ($1)']);
      expect((await pg.query(`SELECT to_regclass('${schema}.items') AS t`)).rows[0].t).toBeNull();
      expect(await names(schema)).toEqual(['001_a']);
    } finally {
      await app.close();
    }
  });
});

describe('PostgreSQL: secrets', () => {
  it('a wrong password: the error, the log and the status name host, port and database, never the password or the whole URL', async () => {
    const url = new URL(pg.url);
    url.username = 'nobody_here';
    url.password = 'sup3r-s3cret-pw';
    const wrong = url.toString();
    const { error, logger } = await bootFailure({ postgres: { connectionString: wrong, schema: 'public' } } as never, { migrations: [first()] });
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    const everything = `${error.message}\n${String(error.cause)}\n${logger.lines.join('\n')}\n${logger.traces.join('\n')}`;
    expect(everything).not.toContain('sup3r-s3cret-pw');
    expect(everything).not.toContain(wrong);
    expect(error.message).toContain(`postgres://${url.hostname}:${url.port}`);
  });
});

describe('PostgreSQL: status names the lock holder', () => {
  it('while another session holds the lock: held, the owner it names, its backend and state; free afterwards', async () => {
    const schema = await freshSchema();
    const { app } = await bootApp(options(schema), { migrations: [first()] });
    const other = await pg.client();
    try {
      const service = app.get(AutoMigrationService);
      expect((await service.getStatus()).lock.held).toBe(false);
      const key = lockKeyFor(schema);
      await other.query(`BEGIN; SET LOCAL application_name = 'nam-lock 4242 feedbeef ${hostname()}'`);
      await other.query('SELECT pg_try_advisory_xact_lock($1, $2)', [key.namespace, key.key]);
      let status = await service.getStatus();
      for (let i = 0; i < 40 && !status.lock.held; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = await service.getStatus();
      }
      expect(status.state).toBe('running');
      expect(status.lock).toMatchObject({ held: true, owner: { host: hostname(), pid: 4242, instanceId: 'feedbeef' } });
      await other.query('ROLLBACK');
      for (let i = 0; i < 40 && status.lock.held; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = await service.getStatus();
      }
      expect(status).toMatchObject({ state: 'up-to-date', lock: { held: false } });
    } finally {
      await other.end();
      await app.close();
    }
  });
});

describe('PostgreSQL: status shows what the holder waits on', () => {
  it("while a run's ALTER TABLE waits for a table lock: held by that process, its session waiting on the lock", async () => {
    const schema = await freshSchema();
    const base = pgMigration('001_t', 'CREATE TABLE waited (id int)');
    await (await bootApp(options(schema), { migrations: [base] })).app.close();
    const reader = await pg.client();
    await reader.query(`BEGIN; SELECT * FROM ${schema}.waited`);
    const migrations = [base, pgMigration('002_alter', 'ALTER TABLE waited ADD COLUMN v int')];
    const running = bootApp({ postgres: { connectionString: pg.url, schema, ddl: { lockTimeoutMs: 20_000 } } } as never, { migrations });
    const observer = await bootApp(options(schema, { mode: 'verify', failOnError: false }), { migrations });
    try {
      const service = observer.app.get(AutoMigrationService);
      let status = await service.getStatus();
      for (let i = 0; i < 100 && !/waiting on Lock\/relation/.test(status.lock.session?.state ?? ''); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = await service.getStatus();
      }
      expect(status.state).toBe('running');
      expect(status.lock).toMatchObject({ held: true, owner: { host: hostname(), pid: process.pid }, session: { backendPid: expect.any(Number) } });
      expect(status.lock.session?.state).toMatch(/^active \(waiting on Lock\/relation\)$/);
    } finally {
      await reader.query('ROLLBACK');
      await (await running).app.close();
      await observer.app.close();
    }
    expect(await names(schema)).toEqual(['001_t', '002_alter']);
  });
});

describe("PostgreSQL: the application's own pool, and verify mode", () => {
  it("injects the application's pg.Pool as it is, migrates through connections of its own, and never ends it", async () => {
    const schema = await freshSchema();
    const pool = new Pool({ connectionString: pg.url, max: 3 });
    try {
      const { app } = await bootApp({ postgres: { pool, schema } } as never, { migrations: [first()], providers: [UsesPool] });
      expect(app.get(UsesPool).db).toBe(pool);
      expect(await names(schema)).toEqual(['001_a']);
      await app.close();
      // Still usable: the module never ends a pool it did not create.
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it("mode 'verify' applies nothing and fails start-up with PENDING_MIGRATIONS; creates none of its tables", async () => {
    const schema = await freshSchema();
    const { error } = await bootFailure(options(schema, { mode: 'verify' }), { migrations: [first()] });
    expect(error).toMatchObject({ code: 'PENDING_MIGRATIONS', pending: ['001_a'] });
    expect((await pg.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [schema])).rows[0].n).toBe(0);
  });
});

describe('PostgreSQL: the heartbeat', () => {
  it('keeps beating through the status pool while a long migration keeps the migration session busy: never suspect', async () => {
    const schema = await freshSchema();
    const migrations = [pgMigration('001_slow', 'SELECT pg_sleep(2.5); CREATE TABLE slow (id int)')];
    const running = bootApp(options(schema, { lock: { staleAfterMs: 600 } }), { migrations });
    const observer = await bootApp(options(schema, { mode: 'verify', failOnError: false, lock: { staleAfterMs: 600 } }), { migrations });
    const seen: { heartbeatAt: string | null; suspect: boolean }[] = [];
    try {
      const service = observer.app.get(AutoMigrationService);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const status = await service.getStatus();
        if (status.lock.held && status.lock.heartbeatAt) seen.push({ heartbeatAt: status.lock.heartbeatAt, suspect: status.lock.suspect });
        if (seen.length > 0 && !status.lock.held) break;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      await (await running).app.close();
      await observer.app.close();
    }
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.filter((s) => s.suspect)).toEqual([]);
    expect(new Set(seen.map((s) => s.heartbeatAt)).size).toBeGreaterThan(2);
  });
});

describe('PostgreSQL: revert and archive', () => {
  it('revert runs down() and deletes the history row; archive moves old rows', async () => {
    const schema = await freshSchema();
    const { app } = await bootApp(options(schema), { migrations: [first(), second()] });
    try {
      const service = app.get(AutoMigrationService);
      const reverted = await service.revert();
      expect(reverted).toMatchObject({ reverted: [expect.objectContaining({ name: '002_b' })] });
      expect(await names(schema)).toEqual(['001_a']);
      expect((await pg.query(`SELECT to_regclass('${schema}.b') AS t`)).rows[0].t).toBeNull();
      const archived = await service.archiveHistory({ olderThan: 0 });
      expect(archived.archived).toEqual(['001_a']);
      expect(await names(schema)).toEqual([]);
      const status = await service.getStatus();
      expect(status.applied).toEqual([expect.objectContaining({ name: '001_a', archived: true })]);
      expect(status.pending.map((m) => m.name)).toEqual(['002_b']);
    } finally {
      await app.close();
    }
  });
});

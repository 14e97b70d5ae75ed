import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import request from 'supertest';
import {
  AutoMigrationModule,
  AutoMigrationService,
  InjectAutoMigrationService,
  InjectMigrationDatabase,
  InvalidOptionsError,
  MigrationHealthIndicator,
} from '../../src/auto-migration';
import { bootInstances, bootInstancesFailure, MODULE_TABLES, snapshotTree } from '../helpers/instances';
import { migration } from '../helpers/migrations';
import { pgMigration } from '../helpers/pg-migrations';
import { usePgSchema } from '../helpers/postgres';
import { historyNames, tableNames } from '../helpers/sqlite';
import { tempDir } from '../helpers/temp-dir';

/*
 * SQLite and PostgreSQL in one app, on the test run's PostgreSQL server: each test's PostgreSQL
 * instance on a schema of its own that the module creates (dropped after the file), its SQLite
 * instance on a file in a temp folder.
 */

const pg = usePgSchema('several');
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

/** A schema name no one has created yet, dropped after the file. */
function newSchema(): string {
  const schema = `${pg.schema}_${randomBytes(3).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

async function pgHistory(schema: string): Promise<string[]> {
  return (await pg.query<{ name: string }>(`SELECT name FROM ${schema}.migrations ORDER BY id`)).rows.map((r) => r.name);
}

async function pgTables(schema: string): Promise<string[]> {
  return (await pg.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])).rows.map((r) => r.t);
}

async function schemaExists(schema: string): Promise<boolean> {
  return ((await pg.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ?? 0) > 0;
}

let dir: ReturnType<typeof tempDir>;
let file: string;
beforeEach(() => {
  dir = tempDir('several-databases-pg-');
  file = dir.file('app.db');
});
afterEach(() => dir.remove());

const postgresOptions = (schema: string) => ({ postgres: { connectionString: pg.url, schema } });
const sqliteOptions = () => ({ database: file, backup: false as const });

/** Reaches both instances through what the app injects: the named one by name, the default one plainly. */
@Injectable()
class Reader {
  constructor(
    readonly main: AutoMigrationService,
    @InjectAutoMigrationService('analytics') readonly analytics: AutoMigrationService,
    @InjectMigrationDatabase('analytics') readonly analyticsDb: unknown,
    @InjectMigrationDatabase() readonly mainDb: unknown,
    readonly health: MigrationHealthIndicator,
  ) {}
}

describe('several databases: SQLite and PostgreSQL in one app', () => {
  it.each([
    ['the default on SQLite, "analytics" on PostgreSQL', 'sqlite'],
    ['the default on PostgreSQL, "analytics" on SQLite', 'postgres'],
  ] as const)('applies each its own migrations: %s', async (_, defaultKind) => {
    const schema = newSchema();
    const onPg = defaultKind === 'postgres' ? {} : { database: 'analytics' };
    const onSqlite = defaultKind === 'sqlite' ? {} : { database: 'analytics' };
    const { app } = await bootInstances(
      [
        AutoMigrationModule.forRoot(defaultKind === 'sqlite' ? sqliteOptions() : postgresOptions(schema)),
        AutoMigrationModule.forRoot({ name: 'analytics', ...(defaultKind === 'sqlite' ? postgresOptions(schema) : sqliteOptions()) }),
      ],
      {
        migrations: [
          migration('001_init', (db) => void db.exec('CREATE TABLE lite (id INTEGER)'), onSqlite),
          migration('002_more_lite', (db) => void db.exec('CREATE TABLE more_lite (id INTEGER)'), onSqlite),
          pgMigration('001_init', 'CREATE TABLE heavy (id bigint)', onPg),
        ],
        providers: [Reader],
      },
    );
    try {
      const reader = app.get(Reader);
      const [sqliteService, pgService] = defaultKind === 'sqlite' ? [reader.main, reader.analytics] : [reader.analytics, reader.main];
      expect((await sqliteService.getStatus()).applied.map((m) => m.name)).toEqual(['001_init', '002_more_lite']);
      expect((await pgService.getStatus()).applied.map((m) => m.name)).toEqual(['001_init']);

      // The injected PostgreSQL connection is the pool of the PostgreSQL instance.
      const pool = (defaultKind === 'sqlite' ? reader.analyticsDb : reader.mainDb) as Pool;
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.heavy`)).rows).toEqual([{ n: 0 }]);

      expect(await reader.health.isHealthy('main')).toEqual({ main: expect.objectContaining({ status: 'up', state: 'up-to-date' }) });
      expect(await reader.health.isHealthy('analytics', { database: 'analytics' })).toEqual({
        analytics: expect.objectContaining({ status: 'up', state: 'up-to-date' }),
      });

      const named = (await request(app.getHttpServer()).get('/migrations/status/analytics').expect(200)).body;
      expect(named).toMatchObject({ database: 'analytics', state: 'up-to-date' });
      expect(named.applied.map((m: { name: string }) => m.name)).toEqual(defaultKind === 'sqlite' ? ['001_init'] : ['001_init', '002_more_lite']);
      expect((await request(app.getHttpServer()).get('/migrations/status').expect(200)).body).not.toHaveProperty('database');
    } finally {
      await app.close();
    }

    // The PostgreSQL instance's history and lock tables are in its schema, beside its own table only.
    expect(await pgTables(schema)).toEqual([...MODULE_TABLES, 'heavy'].sort());
    expect(await pgHistory(schema)).toEqual(['001_init']);
    expect(historyNames(file)).toEqual(['001_init', '002_more_lite']);
    expect(tableNames(file).filter((t) => !MODULE_TABLES.includes(t))).toEqual(['lite', 'more_lite']);
  });

  it('a failure in the SQLite instance imported second leaves the PostgreSQL instance applied', async () => {
    const schema = newSchema();
    const { error } = await bootInstancesFailure(
      [AutoMigrationModule.forRoot(postgresOptions(schema)), AutoMigrationModule.forRoot({ name: 'analytics', ...sqliteOptions() })],
      {
        migrations: [
          pgMigration('001_heavy', 'CREATE TABLE heavy (id bigint)'),
          migration(
            '001_fails',
            () => {
              throw new Error('fails on purpose');
            },
            { database: 'analytics' },
          ),
        ],
      },
    );
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_fails' });
    expect(await pgHistory(schema)).toEqual(['001_heavy']);
    expect(await pgTables(schema)).toContain('heavy');
  });

  it('refuses two names on one PostgreSQL schema, naming both, before the schema is created', async () => {
    const schema = newSchema();
    const before = snapshotTree(dir.path);
    const { error, logger } = await bootInstancesFailure(
      [AutoMigrationModule.forRoot(postgresOptions(schema)), AutoMigrationModule.forRoot({ name: 'analytics', ...postgresOptions(schema) })],
      { migrations: [pgMigration('001_a', 'CREATE TABLE a (id int)'), pgMigration('001_b', 'CREATE TABLE b (id int)', { database: 'analytics' })] },
    );
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems).toEqual([
      expect.stringMatching(new RegExp(`^database: the default instance and instance "analytics" both migrate postgres://.*\\(schema "${schema}"\\); `)),
    ]);
    expect(await schemaExists(schema)).toBe(false);
    expect(snapshotTree(dir.path)).toEqual(before);
    // Neither connected: a driver logs its target when it opens.
    expect(logger.lines.filter((line) => line.includes('Database: postgres://'))).toEqual([]);
  });
});

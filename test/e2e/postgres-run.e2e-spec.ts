import { Client, type PoolClient } from 'pg';
import request from 'supertest';
import { TerminusModule } from '@nestjs/terminus';
import { AutoMigrationService, Migration, type MigrationInterface } from '../../src/auto-migration';
import { HealthController } from '../../src/health.controller';
import { bootApp } from '../helpers/boot';

const URL = process.env.PG_TEST_URL!;
const SCHEMA = `t_run_${process.pid}`;

async function query<R>(sql: string, values?: unknown[]): Promise<R[]> {
  const client = new Client({ connectionString: URL });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as R[];
  } finally {
    await client.end();
  }
}

function pgMigration(name: string, sql: string, options: { transaction?: boolean } = {}) {
  const holder = {
    [name]: class implements MigrationInterface<PoolClient> {
      async up(db: PoolClient) {
        await db.query(sql);
      }
    },
  };
  Migration({ name, version: '1.0.0', ...options })(holder[name]);
  return holder[name];
}

describe('PostgreSQL: a run', () => {
  beforeAll(() => query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`));
  afterAll(() => query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`));

  it('applies pending migrations once, records them, serves status and health', async () => {
    const migrations = [
      pgMigration('001_users', 'CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL)'),
      pgMigration('002_index', 'CREATE INDEX CONCURRENTLY users_email ON users (email)', { transaction: false }),
    ];
    const options = { postgres: { connectionString: URL, schema: SCHEMA } } as never;
    const { app, logger } = await bootApp(options, { migrations, imports: [TerminusModule], controllers: [HealthController] });
    try {
      const status = await app.get(AutoMigrationService).getStatus();
      expect(status.state).toBe('up-to-date');
      expect(status.applied.map((m) => m.name)).toEqual(['001_users', '002_index']);
      await request(app.getHttpServer()).get('/health').expect(200);
      const rows = await query<{ name: string }>(`SELECT name FROM ${SCHEMA}.migrations ORDER BY id`);
      expect(rows.map((r) => r.name)).toEqual(['001_users', '002_index']);
      expect(await query(`SELECT * FROM pg_locks WHERE locktype = 'advisory'`)).toEqual([]);
      expect(logger.lines.join('\n')).not.toContain('devpass');
    } finally {
      await app.close();
    }
    const again = await bootApp({ postgres: { connectionString: URL, schema: SCHEMA } } as never, { migrations });
    expect((await again.app.get(AutoMigrationService).getStatus()).applied).toHaveLength(2);
    await again.app.close();
  });
});

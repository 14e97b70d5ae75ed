import type { Type } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { Migration, type MigrationInterface, type MigrationOptions } from '../../src/auto-migration';

/** A PostgreSQL migration class built at runtime: `up` runs `sql` (a string, or a function of the client). */
export function pgMigration(
  name: string,
  sql: string | ((db: PoolClient) => Promise<unknown>),
  options: Partial<MigrationOptions> = {},
  down?: string,
): Type<unknown> {
  const run = typeof sql === 'string' ? (db: PoolClient) => db.query(sql) : sql;
  const holder = {
    [name]: class implements MigrationInterface<PoolClient> {
      async up(db: PoolClient): Promise<void> {
        await run(db);
      }
    },
  };
  const type = holder[name];
  if (down !== undefined)
    Object.defineProperty(type.prototype, 'down', {
      value: async (db: PoolClient) => {
        await db.query(down);
      },
    });
  Migration({ name, version: '1.0.0', description: `test ${name}`, ...options })(type);
  return type;
}

/**
 * TypeORM 0.3 with its 'better-sqlite3' driver and its 'postgres' driver. Migrations are classes
 * given to the DataSource (TypeORM orders them by the 13-digit timestamp that must end each name)
 * and run their SQL through `queryRunner.query`, statement by statement as the raw baselines do.
 * `migrationsRun: true` applies the pending ones in `initialize()`, the usual set-up for migrating
 * at start-up; history goes to TypeORM's `migrations` table. TypeORM takes no lock, on either.
 *
 * `migrationsTransactionMode`: 'all' (TypeORM's default: one transaction for the batch) or 'each'.
 * On PostgreSQL, `schema` holds TypeORM's `migrations` table; TypeORM does not set the
 * `search_path`, so the connection does (`extra.options`, passed to pg) for the migrations' tables.
 */
import { DataSource, type DataSourceOptions, type MigrationInterface, type QueryRunner } from 'typeorm';
import { benchPgUrl } from '../pg-server';
import { pgMigrationSql } from '../pg-migrations';
import { migrationSql, type UpHook } from '../shared';
import type { Migrator } from '../tools';

const TIMESTAMP = 1_700_000_000_000;

/** The statements of migration `i` in the driver's own placeholders (`?` on SQLite, `$1` on PostgreSQL). */
type StatementsOf = (i: number) => { create: string; index: string; insert: string; rows: readonly (readonly [string, number])[] };

function migrationClasses(n: number, statementsOf: StatementsOf, onUp?: UpHook) {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const sql = statementsOf(i);
    return class implements MigrationInterface {
      name = `T${i}${TIMESTAMP + i}`;

      async up(queryRunner: QueryRunner): Promise<void> {
        onUp?.(i);
        await queryRunner.query(sql.create);
        await queryRunner.query(sql.index);
        for (const row of sql.rows) await queryRunner.query(sql.insert, [...row]);
      }

      async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE t${i}`);
      }
    };
  });
}

async function initialize(options: DataSourceOptions): Promise<void> {
  const dataSource = new DataSource(options);
  try {
    await dataSource.initialize();
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

export function typeormMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const migrations = migrationClasses(n, migrationSql, onUp);
  return {
    migrate: (file) => initialize({ type: 'better-sqlite3', database: file, migrations, migrationsRun: true, migrationsTransactionMode: mode, logging: false }),
  };
}

/** TypeORM on PostgreSQL: `migrate(schema)`. */
export function typeormPgMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const migrations = migrationClasses(n, pgMigrationSql, onUp);
  return {
    migrate: (schema) =>
      initialize({
        type: 'postgres',
        url: benchPgUrl(),
        schema,
        extra: { options: `-c search_path=${schema}` },
        migrations,
        migrationsRun: true,
        migrationsTransactionMode: mode,
        logging: false,
      }),
  };
}

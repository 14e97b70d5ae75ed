/**
 * TypeORM 0.3 with its 'better-sqlite3' driver. Migrations are classes given to the DataSource
 * (TypeORM orders them by the 13-digit timestamp that must end each name) and run their SQL
 * through `queryRunner.query`, statement by statement as the raw baselines do. `migrationsRun:
 * true` applies the pending ones in `initialize()`, the usual set-up for migrating at start-up;
 * history goes to TypeORM's `migrations` table. TypeORM takes no lock on SQLite.
 *
 * `migrationsTransactionMode`: 'all' (TypeORM's default: one transaction for the batch) or 'each'.
 */
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { migrationSql, type UpHook } from '../shared';
import type { Migrator } from '../tools';

const TIMESTAMP = 1_700_000_000_000;

export function typeormMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const migrations = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const sql = migrationSql(i);
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
  return {
    async migrate(file) {
      const dataSource = new DataSource({
        type: 'better-sqlite3',
        database: file,
        migrations,
        migrationsRun: true,
        migrationsTransactionMode: mode,
        logging: false,
      });
      try {
        await dataSource.initialize();
      } finally {
        if (dataSource.isInitialized) await dataSource.destroy();
      }
    },
  };
}

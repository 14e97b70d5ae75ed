/**
 * Knex 3 on its 'better-sqlite3' client. The migrations come from a `migrationSource` (Knex's way
 * to give migrations that are not files) and run their SQL through `knex.raw`, statement by
 * statement as the raw baselines do. `migrate.latest()` takes Knex's own lock (the
 * `knex_migrations_lock` table) and records each migration in `knex_migrations`.
 *
 * Modes, as Knex's docs describe them: by default the whole batch runs in one transaction ('all');
 * with `disableTransactions` and `config.transaction = true` on each migration, each gets its own
 * ('each'). In that mode Knex writes the history row after the migration's transaction commits,
 * not inside it, and takes its lock in a transaction of its own.
 */
import { knex, type Knex } from 'knex';
import { migrationName, migrationSql, type UpHook } from '../shared';
import type { Migrator } from '../tools';

export function knexMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const migrations: Knex.Migration[] = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const sql = migrationSql(i);
    return {
      ...(mode === 'each' && { config: { transaction: true } }),
      async up(db) {
        onUp?.(i);
        await db.raw(sql.create);
        await db.raw(sql.index);
        for (const row of sql.rows) await db.raw(sql.insert, [...row]);
      },
      // Knex refuses a migration without `down`.
      async down(db) {
        await db.raw(`DROP TABLE t${i}`);
      },
    };
  });
  const migrationSource: Knex.MigrationSource<number> = {
    getMigrations: async () => migrations.map((_, k) => k + 1),
    getMigrationName: (i) => migrationName(i, n),
    getMigration: async (i) => migrations[i - 1],
  };
  return {
    async migrate(file) {
      const db = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
      try {
        await db.migrate.latest({ migrationSource, disableTransactions: mode === 'each' });
      } finally {
        await db.destroy();
      }
    },
  };
}

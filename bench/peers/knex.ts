/**
 * Knex 3, on its 'better-sqlite3' client and on its 'pg' client. The migrations come from a
 * `migrationSource` (Knex's way to give migrations that are not files) and run their SQL through
 * `knex.raw`, statement by statement as the raw baselines do. `migrate.latest()` takes Knex's own
 * lock (the `knex_migrations_lock` table) and records each migration in `knex_migrations`.
 *
 * Modes, as Knex's docs describe them: by default the whole batch runs in one transaction ('all');
 * with `disableTransactions` and `config.transaction = true` on each migration, each gets its own
 * ('each'). In that mode Knex writes the history row after the migration's transaction commits,
 * not inside it, and takes its lock in a transaction of its own.
 *
 * On PostgreSQL, `searchPath` puts the unqualified tables in the schema and `schemaName` Knex's
 * own tables; its lock is the same table (an UPDATE of its row), not an advisory lock.
 */
import { knex, type Knex } from 'knex';
import { benchPgUrl } from '../pg-server';
import { pgMigrationSql } from '../pg-migrations';
import { migrationName, migrationSql, type UpHook } from '../shared';
import type { Migrator } from '../tools';

/** The statements of migration `i` in the dialect, with `?` bindings (Knex turns them into `$n` on pg). */
type StatementsOf = (i: number) => { create: string; index: string; insert: string; rows: readonly (readonly [string, number])[] };

function migrationSource(n: number, mode: 'each' | 'all', statementsOf: StatementsOf, onUp?: UpHook): Knex.MigrationSource<number> {
  const migrations: Knex.Migration[] = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const sql = statementsOf(i);
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
  return {
    getMigrations: async () => migrations.map((_, k) => k + 1),
    getMigrationName: (i) => migrationName(i, n),
    getMigration: async (i) => migrations[i - 1],
  };
}

async function latest(config: Knex.Config, options: Knex.MigratorConfig): Promise<void> {
  const db = knex(config);
  try {
    await db.migrate.latest(options);
  } finally {
    await db.destroy();
  }
}

export function knexMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const source = migrationSource(n, mode, migrationSql, onUp);
  return {
    migrate: (file) =>
      latest(
        { client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true },
        { migrationSource: source, disableTransactions: mode === 'each' },
      ),
  };
}

/** Knex on PostgreSQL: `migrate(schema)`. */
export function knexPgMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Migrator {
  const source = migrationSource(n, mode, (i) => ({ ...pgMigrationSql(i), insert: pgMigrationSql(i).insertQ }), onUp);
  return {
    migrate: (schema) =>
      latest(
        { client: 'pg', connection: benchPgUrl(), searchPath: [schema] },
        { migrationSource: source, schemaName: schema, disableTransactions: mode === 'each' },
      ),
  };
}

/**
 * node-pg-migrate 9 through its programmatic `runner()`, as its docs show: migration files in a
 * folder (`dir`), the schema to migrate (`schema`: it sets the `search_path`, and the history table
 * `pgmigrations` goes there too), `direction: 'up'`. It loads each file with its shared `jiti`
 * instance; the files are written and loaded through that instance before the clock starts, as
 * the module's classes are built beforehand, so a run finds them in its cache.
 *
 * Each file's `up` queues its statements with `pgm.sql` (which takes no bindings, so the values of
 * the 10 rows are in the text); node-pg-migrate then sends them one by one with its history INSERT.
 * Modes: `singleTransaction: false` (a BEGIN/COMMIT per migration) and `true` (one for the batch).
 * Its lock: a session-level `pg_try_advisory_lock` on one key for every schema; with its default
 * `advisoryLockMode` 'fail', a second process fails at once ("Another migration is already running").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jiti, runner } from 'node-pg-migrate';
import { benchPgUrl } from '../pg-server';
import { pgMigrationSql } from '../pg-migrations';
import { migrationName, type UpHook } from '../shared';
import type { Migrator } from '../tools';

/** The migration files call it first in `up` (they cannot close over a function of this process). */
const ON_UP = 'benchNodePgMigrateOnUp';

function migrationFile(i: number): string {
  const sql = pgMigrationSql(i);
  const statements = [sql.create, sql.index, ...sql.rows.map(sql.insertLiteral)].map((text) => `  pgm.sql(${JSON.stringify(text)});`);
  return [`exports.up = (pgm) => {`, `  globalThis.${ON_UP}?.(${i});`, ...statements, '};', `exports.down = (pgm) => pgm.sql('DROP TABLE t${i}');`, ''].join(
    '\n',
  );
}

export async function nodePgMigrateMigrator(n: number, mode: 'each' | 'all', onUp?: UpHook): Promise<Migrator> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-node-pg-migrate-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const files = Array.from({ length: n }, (_, k) => join(dir, `${migrationName(k + 1, n)}.js`));
  files.forEach((file, k) => writeFileSync(file, migrationFile(k + 1)));
  for (const file of files) await jiti.import(file);
  (globalThis as Record<string, unknown>)[ON_UP] = onUp;
  return {
    async migrate(schema) {
      await runner({
        databaseUrl: benchPgUrl(),
        dir,
        schema,
        migrationsTable: 'pgmigrations',
        direction: 'up',
        singleTransaction: mode === 'all',
        // Its default logger prints every file name to the console; the other tools log nothing either.
        log: () => undefined,
      });
    },
  };
}

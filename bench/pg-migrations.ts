/**
 * The migrations of the PostgreSQL workloads: the same work as SQLite's (a table, an index on it,
 * 10 rows), in PostgreSQL's SQL, run through `pg` by the module's classes and the raw baselines,
 * and through their own query APIs by the peers.
 */
import type { PoolClient } from 'pg';
import type { UpHook } from './shared';

/** What `up` receives on PostgreSQL: the module's migration session, or raw's client. */
export type PgQueryable = Pick<PoolClient, 'query'>;

export interface PgMigrationSteps {
  up(db: PgQueryable): Promise<void>;
}

/**
 * The statements of migration `i`. `insert` takes `$1, $2` (pg, TypeORM); `insertQ` the same with
 * `?` (Knex's bindings); `insertLiteral(row)` has the values in the text (node-pg-migrate's
 * `pgm.sql` has no bindings).
 */
export function pgMigrationSql(i: number) {
  const rows = Array.from({ length: 10 }, (_, row) => [`row ${row}`, row] as const);
  return {
    create: `CREATE TABLE t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, qty integer NOT NULL)`,
    index: `CREATE INDEX idx_t${i}_name ON t${i} (name)`,
    insert: `INSERT INTO t${i} (name, qty) VALUES ($1, $2)`,
    insertQ: `INSERT INTO t${i} (name, qty) VALUES (?, ?)`,
    insertLiteral: ([name, qty]: (typeof rows)[number]) => `INSERT INTO t${i} (name, qty) VALUES ('${name}', ${qty})`,
    rows,
  };
}

/**
 * The class of migration `i` from source text, as shared.ts's migrationClass builds SQLite's: each
 * class has its own literals, source and checksum. Its `up` awaits each statement in turn, as a
 * migration written against `pg` would.
 */
export function pgMigrationClass(i: number, onUp?: UpHook): new () => PgMigrationSteps {
  const sql = pgMigrationSql(i);
  const source = `
    return class Migration${i} {
      async up(db) {${onUp ? `\n        onUp(${i});` : ''}
        await db.query('${sql.create}');
        await db.query('${sql.index}');
        for (let row = 0; row < 10; row++) await db.query('${sql.insert}', ['row ' + row, row]);
      }
    };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- on purpose: classes with real source text, as the module checksums them.
  const build = new Function('onUp', source) as (onUp?: UpHook) => new () => PgMigrationSteps;
  return build(onUp);
}

export function pgMigrationClasses(n: number, onUp?: UpHook): (new () => PgMigrationSteps)[] {
  return Array.from({ length: n }, (_, k) => pgMigrationClass(k + 1, onUp));
}

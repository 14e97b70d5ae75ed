/**
 * W2 on PostgreSQL: start up against a schema that already holds every migration. As w2-boot.ts
 * on SQLite: one process per variant, a warm-up boot, then `runs` measured boots; the module's
 * boots alternate with the same app without it, its cost being the median of the paired differences.
 *
 *   pg-w2-boot.ts prepare <n> <schema> [peer]    create the schema, apply the n migrations (module or peer)
 *   pg-w2-boot.ts <module|raw|peer> <n> <schema> <runs>
 *   pg-w2-boot.ts drop <schema>
 *
 * raw = connect a `pg` Client, SELECT the whole history, end. A peer's boot is the call an app
 * makes at every start (node-pg-migrate's `runner()`, Knex's `migrate.latest()`, TypeORM's
 * `initialize()` with `migrationsRun`), on a schema that peer migrated.
 */
import { Client } from 'pg';
import { benchPgUrl, withPg } from './pg-server';
import { loadPgModule } from './pg-tools';
import { measure, report, reportPairedBoots, type Sample } from './shared';
import { loadTool, PG_HISTORY_TABLES, type PgTool } from './tools';

/** The peers of W2 on PostgreSQL, in their default modes. */
export const PG_W2_PEERS = ['pg-node-pg-migrate-each', 'pg-knex-all', 'pg-typeorm-all'] as const;
export type PgW2Peer = (typeof PG_W2_PEERS)[number];
const isPeer = (variant: string): variant is PgW2Peer => (PG_W2_PEERS as readonly string[]).includes(variant);

/** The baseline: what reading the applied history costs without any framework. */
async function readHistoryRaw(schema: string): Promise<void> {
  const client = new Client({ connectionString: benchPgUrl() });
  await client.connect();
  await client.query(`SELECT name, version, description, checksum, applied_at, execution_time_ms FROM ${schema}.migrations ORDER BY id`);
  await client.end();
}

async function main(variant: 'module' | 'raw' | PgW2Peer | 'prepare', n: number, schema: string, runs: number, peer?: PgW2Peer): Promise<void> {
  if (variant === 'module') return pairedBoots(n, schema, runs);
  let boot: () => Promise<void>;
  if (variant === 'raw') {
    boot = () => readHistoryRaw(schema);
  } else if (isPeer(variant) || peer) {
    const migrator = await loadTool(peer ?? (variant as PgW2Peer), n);
    boot = () => migrator.migrate(schema);
  } else {
    const { bootApp, migrations, database } = await loadPgModule();
    const types = migrations(n);
    boot = async () => (await bootApp(types, database(schema, 'all'))).close();
  }

  if (variant === 'prepare') {
    await withPg((client) => client.query(`CREATE SCHEMA ${schema}`));
    const sample = await measure(boot);
    await assertApplied(schema, n, peer ?? 'pg-module');
    return report([sample]);
  }
  await boot();
  const samples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    // Garbage left by the previous boot is not this boot's cost.
    global.gc?.();
    samples.push(await measure(boot));
  }
  report(samples);
}

/** The module's cost at `n` migrations, in paired boots (see `reportPairedBoots`). */
async function pairedBoots(n: number, schema: string, runs: number): Promise<void> {
  const { bootApp, migrations, database } = await loadPgModule();
  const types = migrations(n);
  await reportPairedBoots(
    async () => (await bootApp(types, database(schema, 'all'))).close(),
    async () => (await bootApp(types)).close(),
    runs,
  );
}

async function assertApplied(schema: string, n: number, tool: PgTool): Promise<void> {
  const count = await withPg(
    async (client) => (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${PG_HISTORY_TABLES[tool]}`)).rows[0].n,
  );
  if (count !== n) throw new Error(`prepare: expected ${n} applied migrations, found ${count}`);
}

if (require.main === module) {
  const [variant, n, schema, arg = '1'] = process.argv.slice(2);
  const run =
    variant === 'drop' && n
      ? () => withPg(async (client) => void (await client.query(`DROP SCHEMA IF EXISTS ${n} CASCADE`))).then(() => report([]))
      : ['module', 'raw', 'prepare', ...PG_W2_PEERS].includes(variant) && Number(n) > 0 && schema
        ? () => {
            const peer = variant === 'prepare' && isPeer(arg) ? arg : undefined;
            return main(variant as 'module' | 'raw' | PgW2Peer | 'prepare', Number(n), schema, peer ? 1 : Number(arg), peer);
          }
        : () =>
            Promise.reject(
              new Error(
                `usage: pg-w2-boot.ts prepare <n> <schema> [${PG_W2_PEERS.join('|')}] | <module|raw|${PG_W2_PEERS.join('|')}> <n> <schema> [runs] | drop <schema>`,
              ),
            );
  run().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

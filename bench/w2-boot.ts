/**
 * W2: start up against a database that already holds every migration, so there is nothing to do.
 * One process per variant and size; a warm-up boot first, then `runs` measured boots, so the
 * figures are the steady cost of a boot rather than of loading and compiling code.
 *
 *   w2-boot.ts prepare <n> <file> [peer]     apply the n migrations (through the module, or the peer)
 *   w2-boot.ts <module|raw|peer> <n> <file> <runs>
 *
 * `module` boots the app with the module and the same app without it alternately (which goes
 * first alternating too), in one process: the module's cost is the median of the paired differences. Two medians taken in two
 * processes a minute apart differed by more than the cost itself on a shared machine.
 *
 * A peer's boot is the call an app makes at every start (Umzug's `up()`, Knex's
 * `migrate.latest()`, TypeORM's `initialize()` with `migrationsRun`), on a file that peer migrated.
 */
import BetterSqlite3 from 'better-sqlite3';
import { measure, report, reportPairedBoots, type Sample } from './shared';
import { HISTORY_TABLES, loadTool } from './tools';

export const W2_VARIANTS = ['module', 'raw'] as const;
export type W2Variant = (typeof W2_VARIANTS)[number];
/** The peers of W2, in their default modes. */
export const W2_PEERS = ['umzug', 'knex-all', 'typeorm-all'] as const;
export type W2Peer = (typeof W2_PEERS)[number];
const isPeer = (variant: string): variant is W2Peer => (W2_PEERS as readonly string[]).includes(variant);

/** The baseline: what reading the applied history costs without any framework. */
function readHistoryRaw(file: string): void {
  const db = new BetterSqlite3(file);
  db.prepare('SELECT name, version, description, checksum, applied_at, execution_time_ms FROM migrations ORDER BY id').all();
  db.close();
}

async function main(variant: W2Variant | W2Peer | 'prepare', n: number, file: string, runs: number, peer?: W2Peer): Promise<void> {
  if (variant === 'module') return pairedBoots(n, file, runs);
  let boot: () => Promise<void> | void;
  if (variant === 'raw') {
    boot = () => readHistoryRaw(file);
  } else if (isPeer(variant) || peer) {
    const migrator = await loadTool(peer ?? (variant as W2Peer), n);
    boot = () => migrator.migrate(file);
  } else {
    const { bootApp, decoratedMigrations } = await import('./nest-app');
    const types = decoratedMigrations(n);
    boot = async () => (await bootApp(types, { file, transactionMode: 'all' })).close();
  }

  if (variant === 'prepare') {
    const sample = await measure(boot);
    assertApplied(file, n, HISTORY_TABLES[peer ?? 'module']);
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
async function pairedBoots(n: number, file: string, runs: number): Promise<void> {
  // Loaded only here, so the raw baseline's process carries no Nest or library code.
  const { bootApp, decoratedMigrations } = await import('./nest-app');
  const types = decoratedMigrations(n);
  await reportPairedBoots(
    async () => (await bootApp(types, { file, transactionMode: 'all' })).close(),
    async () => (await bootApp(types)).close(),
    runs,
  );
}

function assertApplied(file: string, n: number, historyTable: string): void {
  const db = new BetterSqlite3(file, { readonly: true });
  const { count } = db.prepare(`SELECT count(*) AS count FROM ${historyTable}`).get() as { count: number };
  db.close();
  if (count !== n) throw new Error(`prepare: expected ${n} applied migrations, found ${count}`);
}

if (require.main === module) {
  const [variant, n, file, arg = '1'] = process.argv.slice(2);
  const peer = variant === 'prepare' && isPeer(arg) ? arg : undefined;
  if (![...W2_VARIANTS, ...W2_PEERS, 'prepare'].includes(variant) || !(Number(n) > 0) || !file) {
    throw new Error(`usage: w2-boot.ts prepare <n> <file> [${W2_PEERS.join('|')}] | w2-boot.ts <${[...W2_VARIANTS, ...W2_PEERS].join('|')}> <n> <file> [runs]`);
  }
  main(variant as W2Variant | W2Peer | 'prepare', Number(n), file, peer ? 1 : Number(arg), peer).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

/**
 * W1: apply `n` migrations to a fresh SQLite file. One measurement per process, cold, as an app
 * applies its migrations once when it starts; the process's peak RSS is the memory figure.
 *
 *   w1-apply.ts <module-each|module-all|empty-app|raw-each|raw-all|raw-each-bare|raw-all-bare|peer> <n>
 *
 * Peers (bench/peers/): umzug, knex-each, knex-all, typeorm-each, typeorm-all, each on a fresh
 * file in its own process too, timed from building its DataSource / Knex / Umzug instance to
 * having closed it again.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { measure, migrationClasses, migrationName, report, tempDir, type MigrationSteps } from './shared';
import { HISTORY_TABLES, loadTool } from './tools';

/** The peers of W1: per-migration ones compare with raw-each, batch ones with raw-all. */
export const W1_PEERS = ['umzug', 'knex-each', 'knex-all', 'typeorm-each', 'typeorm-all'] as const;
export const W1_VARIANTS = ['module-each', 'module-all', 'empty-app', 'raw-each', 'raw-all', 'raw-each-bare', 'raw-all-bare', ...W1_PEERS] as const;
export type W1Variant = (typeof W1_VARIANTS)[number];

const HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  version TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time_ms INTEGER NOT NULL
)`;

/**
 * The indexes the contract gives the module's history table. raw-each / raw-all create them
 * too, so that both write the same history; the "-bare" variants leave them out, which saves
 * three index pages per commit.
 */
const CONTRACT_INDEXES = `
CREATE INDEX idx_history_name ON history(name);
CREATE INDEX idx_history_applied_at ON history(applied_at);
CREATE INDEX idx_history_version ON history(version);`;

/** The least a hand-written runner does: run each `up` and record it, per transaction or all in one. */
function applyRaw(file: string, types: (new () => MigrationSteps)[], mode: 'each' | 'all', bare: boolean): void {
  const db = new BetterSqlite3(file);
  // One committed transaction for the table and its indexes, not one per statement.
  db.exec(`BEGIN; ${HISTORY_TABLE}; ${bare ? '' : CONTRACT_INDEXES} COMMIT;`);
  const record = db.prepare('INSERT INTO history (name, version, description, checksum, applied_at, execution_time_ms) VALUES (?, ?, ?, ?, ?, ?)');
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  if (mode === 'all') begin.run();
  types.forEach((type, k) => {
    if (mode === 'each') begin.run();
    const started = performance.now();
    new type().up(db);
    // A checksum of the raw source: what a minimal runner would store, without normalisation.
    const checksum = createHash('sha256')
      .update((type.prototype as MigrationSteps).up.toString())
      .digest('hex');
    record.run(migrationName(k + 1, types.length), '1.0.0', '', checksum, new Date().toISOString(), Math.round(performance.now() - started));
    if (mode === 'each') commit.run();
  });
  if (mode === 'all') commit.run();
  db.close();
}

async function main(variant: W1Variant, n: number): Promise<void> {
  const tmp = tempDir('w1');
  const file = join(tmp.dir, 'app.db');
  try {
    if (variant.startsWith('raw-')) {
      const types = migrationClasses(n);
      return report([await measure(() => applyRaw(file, types, variant.startsWith('raw-each') ? 'each' : 'all', variant.endsWith('-bare')))]);
    }
    if ((W1_PEERS as readonly string[]).includes(variant)) {
      const peer = variant as (typeof W1_PEERS)[number];
      const migrator = await loadTool(peer, n);
      const sample = await measure(() => migrator.migrate(file));
      assertApplied(file, n, HISTORY_TABLES[peer]);
      return report([sample]);
    }
    // Loaded only here, so the raw baselines' time and RSS carry no Nest or library code.
    const { bootApp, decoratedMigrations } = await import('./nest-app');
    const types = decoratedMigrations(n);
    const database = variant === 'empty-app' ? undefined : { file, transactionMode: variant === 'module-each' ? ('each' as const) : ('all' as const) };
    let app: Awaited<ReturnType<typeof bootApp>> | undefined;
    const sample = await measure(async () => (app = await bootApp(types, database)));
    await app!.close();
    if (database) assertApplied(file, n);
    report([sample]);
  } finally {
    tmp.remove();
  }
}

/** A benchmark of a run that silently did nothing would be worthless. */
function assertApplied(file: string, n: number, historyTable = 'migrations'): void {
  const db = new BetterSqlite3(file, { readonly: true });
  const { count } = db.prepare(`SELECT count(*) AS count FROM ${historyTable}`).get() as { count: number };
  const rows = (db.prepare(`SELECT count(*) AS count FROM t${n}`).get() as { count: number }).count;
  db.close();
  if (count !== n || rows !== 10) throw new Error(`expected ${n} applied migrations with 10 rows each, found ${count} and ${rows}`);
}

if (require.main === module) {
  const [variant, n] = process.argv.slice(2);
  if (!(W1_VARIANTS as readonly string[]).includes(variant) || !(Number(n) > 0)) {
    throw new Error(`usage: w1-apply.ts <${W1_VARIANTS.join('|')}> <n>`);
  }
  main(variant as W1Variant, Number(n)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

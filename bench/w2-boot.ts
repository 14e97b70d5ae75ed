/**
 * W2: start up against a database that already holds every migration, so there is nothing to do.
 * One process per variant and size; a warm-up boot first, then `runs` measured boots, so the
 * figures are the steady cost of a boot rather than of loading and compiling code.
 *
 *   w2-boot.ts prepare <n> <file>            apply the n migrations (through the module)
 *   w2-boot.ts <module|empty-app|raw> <n> <file> <runs>
 */
import BetterSqlite3 from 'better-sqlite3';
import { measure, report, type Sample } from './shared';

export const W2_VARIANTS = ['module', 'empty-app', 'raw'] as const;
export type W2Variant = (typeof W2_VARIANTS)[number];

/** The baseline: what reading the applied history costs without any framework. */
function readHistoryRaw(file: string): void {
  const db = new BetterSqlite3(file);
  db.prepare('SELECT name, version, description, checksum, applied_at, execution_time_ms FROM migrations ORDER BY id').all();
  db.close();
}

async function main(variant: W2Variant | 'prepare', n: number, file: string, runs: number): Promise<void> {
  let boot: () => Promise<void> | void;
  if (variant === 'raw') {
    boot = () => readHistoryRaw(file);
  } else {
    // Loaded only here, so the raw baseline's process carries no Nest or library code.
    const { bootApp, decoratedMigrations } = await import('./nest-app');
    const types = decoratedMigrations(n);
    const database = variant === 'empty-app' ? undefined : { file, transactionMode: 'all' as const };
    boot = async () => (await bootApp(types, database)).close();
  }

  if (variant === 'prepare') {
    const sample = await measure(boot);
    assertApplied(file, n);
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

function assertApplied(file: string, n: number): void {
  const db = new BetterSqlite3(file, { readonly: true });
  const { count } = db.prepare('SELECT count(*) AS count FROM migrations').get() as { count: number };
  db.close();
  if (count !== n) throw new Error(`prepare: expected ${n} applied migrations, found ${count}`);
}

if (require.main === module) {
  const [variant, n, file, runs = '1'] = process.argv.slice(2);
  if (![...W2_VARIANTS, 'prepare'].includes(variant) || !(Number(n) > 0) || !file) {
    throw new Error(`usage: w2-boot.ts <prepare|${W2_VARIANTS.join('|')}> <n> <file> [runs]`);
  }
  main(variant as W2Variant, Number(n), file, Number(runs)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

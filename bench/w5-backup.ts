/**
 * W5: the verified backup the module writes before a run, on a database of about 100 MiB. One
 * measurement per process, as a run takes one backup when it starts; the source file is read once
 * before the measurement, so every variant starts from the same warm page cache.
 *
 *   w5-backup.ts build <file> <MiB>        write a database of about that size (tables, indexes, random text)
 *   w5-backup.ts <variant> <file> <dir>    back <file> up into <dir> once, then empty <dir>
 *
 * Variants: `module` / `module-full` = the library's BackupService.write() (verify 'quick' /
 * 'full'), `vacuum-into` = the baseline by hand (open, VACUUM INTO, close), `vacuum-into+check`
 * = the same plus a quick_check of the copy by hand (the least any verified backup does), and
 * `copy-file` = fs.copyFileSync, a plain byte copy (no snapshot, no check, no fsync).
 */
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { measure, report } from './shared';

export const W5_VARIANTS = ['module', 'module-full', 'vacuum-into', 'vacuum-into+check', 'copy-file'] as const;
export type W5Variant = (typeof W5_VARIANTS)[number];

/** Bytes of file per generated customer (with its 2 orders and 2 events, and their index entries), measured. */
const BYTES_PER_UNIT = 1240;

/**
 * A database shaped like an application's: three tables of random text with four indexes (one
 * unique), built with SQL so 100 MiB takes a couple of seconds. Indexes are created after the
 * rows, as a bulk load would, so the file has no free pages and VACUUM has nothing to drop.
 */
function build(file: string, mib: number): number {
  const units = Math.max(100, Math.round((mib * 1024 * 1024) / BYTES_PER_UNIT));
  rmSync(file, { force: true });
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -65536');
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, bio TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL, amount REAL NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL);
  `);
  const rows = (count: number, insert: string) =>
    db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) ${insert}`).run(count);
  const time = `datetime(1700000000 + abs(random()) % 50000000, 'unixepoch')`;
  db.exec('BEGIN');
  rows(
    units,
    `INSERT INTO customers (id, email, name, bio, created_at)
     SELECT i, lower(hex(randomblob(8))) || '@example.com', hex(randomblob(6)), hex(randomblob(40 + abs(random()) % 80)), ${time} FROM n`,
  );
  rows(
    units * 2,
    `INSERT INTO orders (customer_id, status, note, amount, created_at)
     SELECT 1 + abs(random()) % ${units}, char(65 + abs(random()) % 5), hex(randomblob(abs(random()) % 60)), (abs(random()) % 100000) / 100.0, ${time} FROM n`,
  );
  rows(
    units * 2,
    `INSERT INTO events (kind, payload, created_at)
     SELECT 'kind' || (abs(random()) % 20), hex(randomblob(50 + abs(random()) % 150)), ${time} FROM n`,
  );
  db.exec('COMMIT');
  db.exec(`
    CREATE UNIQUE INDEX customers_email ON customers (email);
    CREATE INDEX orders_customer ON orders (customer_id, created_at);
    CREATE INDEX orders_status ON orders (status);
    CREATE INDEX events_kind ON events (kind, created_at);
  `);
  db.pragma('journal_mode = DELETE');
  db.close();
  return statSync(file).size;
}

/** Reads the whole file once, so the measurement starts from a warm page cache whatever ran before. */
function warmUp(file: string): void {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  try {
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

function emptyFolder(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** The baseline: what a hand-written backup step costs with plain better-sqlite3. */
function vacuumInto(file: string, target: string): void {
  const db = new BetterSqlite3(file);
  db.prepare('VACUUM INTO ?').run(target);
  db.close();
}

function quickCheck(path: string): void {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  const result = db.pragma('quick_check', { simple: true });
  db.close();
  if (result !== 'ok') throw new Error(`quick_check of ${path}: ${String(result)}`);
}

async function backUp(variant: W5Variant, file: string, dir: string): Promise<void> {
  if (readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: a previous run left files behind`);
  const target = join(dir, 'copy.db');
  let work: () => unknown;
  let detail: () => Record<string, number[]>;
  let close = () => {};

  if (variant === 'module' || variant === 'module-full') {
    // Loaded only here, so the baselines' processes carry no library code.
    await import('reflect-metadata');
    const { resolveOptions } = await import('../src/auto-migration/options/resolve-options');
    const { BackupService } = await import('../src/auto-migration/backup/backup.service');
    const { MigrationEvents } = await import('../src/auto-migration/events/migration-events');
    const { SqliteFileBackups } = await import('../src/auto-migration/driver/sqlite/sqlite-file-backups');
    type Driver = ConstructorParameters<typeof BackupService>[1];
    const options = resolveOptions({ database: file, backup: { dir, keep: 100, verify: variant === 'module-full' ? 'full' : 'quick' } });
    // The migration connection, already open as it is when a run takes its backup (default PRAGMAs: none).
    const migration = new BetterSqlite3(file);
    const events = new MigrationEvents();
    const written: { durationMs: number; verifyMs: number; sizeBytes: number }[] = [];
    events.events$.subscribe((event) => {
      if (event.type === 'backup-written') written.push(event);
    });
    const service = new BackupService(options, { fileBackups: new SqliteFileBackups(file, () => migration) } as unknown as Driver, events);
    let sizeBytes = 0;
    work = async () => (sizeBytes = (await service.write(null)).sizeBytes);
    detail = () => {
      // A measurement of a backup that was not written, or not announced, would be worthless.
      if (written.length !== 1 || written[0].sizeBytes !== sizeBytes || service.list().length !== 1) {
        throw new Error(`expected one backup and one backup-written event, got ${service.list().length} and ${written.length}`);
      }
      return { durationMs: [written[0].durationMs], verifyMs: [written[0].verifyMs], sizeBytes: [sizeBytes] };
    };
    close = () => migration.close();
  } else {
    work =
      variant === 'vacuum-into'
        ? () => vacuumInto(file, target)
        : variant === 'vacuum-into+check'
          ? () => (vacuumInto(file, target), quickCheck(target))
          : () => copyFileSync(file, target);
    detail = () => {
      if (!existsSync(target)) throw new Error(`${variant} wrote no ${target}`);
      return { sizeBytes: [statSync(target).size] };
    };
  }

  warmUp(file);
  global.gc?.();
  try {
    const sample = await measure(work);
    report([sample], detail());
  } finally {
    close();
    emptyFolder(dir);
  }
}

if (require.main === module) {
  const [variant, file, arg] = process.argv.slice(2);
  const run = async () => {
    if (variant === 'build' && file && Number(arg) > 0) {
      let sizeBytes = 0;
      const sample = await measure(() => (sizeBytes = build(file, Number(arg))));
      return report([sample], { sizeBytes: [sizeBytes] });
    }
    if (!(W5_VARIANTS as readonly string[]).includes(variant) || !file || !arg) {
      throw new Error(`usage: w5-backup.ts build <file> <MiB> | w5-backup.ts <${W5_VARIANTS.join('|')}> <file> <dir>`);
    }
    return backUp(variant as W5Variant, file, arg);
  };
  run().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

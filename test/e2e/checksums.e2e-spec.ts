import type { Type } from '@nestjs/common';
import { AutoMigrationService, ChecksumMismatchError, Migration } from '../../src/auto-migration';
import { classChecksum, classSourceHash } from '../../src/auto-migration/discovery/migration-checksum';
import { bootApp, bootFailure } from '../helpers/boot';
import { compileModule, TWO_BUILDS } from '../helpers/compile';
import { migration } from '../helpers/migrations';
import { historyNames, inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/** A migration class from exact JavaScript source, so the test controls what the checksum reads. */
function fromSource(name: string, source: string): Type<unknown> {
  const type = new Function(`return (${source});`)() as Type<unknown>;
  Migration({ name, version: '1.0.0' })(type);
  return type;
}

const ORIGINAL = `class CreateItems {
  up(db) {
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)');
  }
}`;
const COMMENTED = `class CreateItems {
  /** Items, as specified in the design. */
  up(db) {
    // one table, no foreign keys
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)'); /* done */
  }
}`;
const WHITESPACE_ONLY = `class CreateItems {


  up(db)   {   db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)');   }
}`;
const CHANGED = `class CreateItems {
  up(db) {
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)');
  }
}`;

describe('checksum validation', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });
  const applyOriginal = async () => (await bootApp(base(), { migrations: [fromSource('001_items', ORIGINAL)] })).app.close();

  it('refuses an applied migration whose body changed, naming stored and current values, whatever failOnError says', async () => {
    await applyOriginal();
    let later = false;
    const next = migration('002_next', () => {
      later = true;
    });
    const { error } = await bootFailure({ ...base(), failOnError: false }, { migrations: [fromSource('001_items', CHANGED), next] });
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    const stored = inspect(t.db, (d) => (d.prepare("SELECT checksum FROM migrations WHERE name = '001_items'").get() as { checksum: string }).checksum);
    expect(error.message).toContain(`"001_items": stored ${stored}, current ${classChecksum(fromSource('001_items', CHANGED))}`);
    expect(error.message).toContain('repair()');
    expect(later).toBe(false);
    expect(historyNames(t.db)).toEqual(['001_items']);
  });

  it('stores the hash of the raw source beside the checksum (none for an explicit checksum)', async () => {
    const pinned = migration('002_pinned', undefined, { checksum: 'v1' });
    await (await bootApp(base(), { migrations: [fromSource('001_items', ORIGINAL), pinned] })).app.close();
    const rows = inspect(t.db, (d) => d.prepare('SELECT name, checksum, source_hash FROM migrations ORDER BY id').all());
    expect(rows).toEqual([
      { name: '001_items', checksum: classChecksum(fromSource('001_items', ORIGINAL)), source_hash: classSourceHash(fromSource('001_items', ORIGINAL)) },
      { name: '002_pinned', checksum: 'v1', source_hash: null },
    ]);
  });

  it('still catches a change to a method assigned outside the class body (no source-hash shortcut for that class)', async () => {
    const patched = (sql: string) => {
      const type = new Function(`return (class CreateItems {})`)() as Type<unknown> & { prototype: { up?: unknown } };
      type.prototype.up = new Function('db', `db.exec(${JSON.stringify(sql)})`);
      Migration({ name: '001_items', version: '1.0.0' })(type);
      return type;
    };
    await (await bootApp({ database: t.db, backup: false }, { migrations: [patched('CREATE TABLE items (id INTEGER)')] })).app.close();
    expect(inspect(t.db, (d) => d.prepare('SELECT source_hash FROM migrations').pluck().get())).toBeNull();
    const { error } = await bootFailure({ database: t.db, backup: false }, { migrations: [patched('CREATE TABLE items (id INTEGER, label TEXT)')] });
    expect(error).toBeInstanceOf(ChecksumMismatchError);
  });

  it('accepts a change of comments or white space only', async () => {
    await applyOriginal();
    await (await bootApp(base(), { migrations: [fromSource('001_items', WHITESPACE_ONLY)] })).app.close();
    await (await bootApp(base(), { migrations: [fromSource('001_items', COMMENTED), migration('002_next')] })).app.close();
    expect(historyNames(t.db)).toEqual(['001_items', '002_next']);
  });

  it('accepts an applied migration rebuilt from the same TypeScript source with another target and comment setting', async () => {
    const source = `
      export class AddIndex {
        // why: lookups by label
        up(db: { exec(sql: string): void }): void {
          db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)');
          db.exec('CREATE INDEX idx_items_label ON items(label)'); /* the point of it */
        }
      }`;
    const [first, second] = TWO_BUILDS.map((options) => compileModule(source, options));
    expect(first.js).not.toBe(second.js);
    const build = (compiled: typeof first) => {
      Migration({ name: '001_items', version: '1.0.0' })(compiled.exports.AddIndex);
      return compiled.exports.AddIndex;
    };
    await (await bootApp(base(), { migrations: [build(first)] })).app.close();
    await (await bootApp(base(), { migrations: [build(second), migration('002_next')] })).app.close();
    expect(historyNames(t.db)).toEqual(['001_items', '002_next']);
    // The stored checksum is the one the second build derives (the stored source hash differed, so it was compared).
    expect(inspect(t.db, (d) => d.prepare("SELECT checksum FROM migrations WHERE name = '001_items'").pluck().get())).toBe(
      classChecksum(second.exports.AddIndex),
    );
  });

  it("'warn' logs the mismatch once and starts; false does not even look", async () => {
    await applyOriginal();
    const warned = await bootApp({ ...base(), validateChecksums: 'warn' }, { migrations: [fromSource('001_items', CHANGED), migration('002_next')] });
    await warned.app.close();
    expect(warned.logger.lines.filter((l) => l.startsWith('WARN [AutoMigration] Applied migration changed since it was applied'))).toHaveLength(1);
    expect(historyNames(t.db)).toEqual(['001_items', '002_next']);

    const skipped = await bootApp({ ...base(), validateChecksums: false }, { migrations: [fromSource('001_items', CHANGED), migration('002_next')] });
    await skipped.app.close();
    expect(skipped.logger.lines.filter((l) => l.includes('changed since'))).toEqual([]);
  });

  it('repair() accepts the current checksums and clears interrupted attempts, after a backup, recording when', async () => {
    await applyOriginal();
    const risky = migration(
      '002_risky',
      () => {
        throw new Error('half-way');
      },
      { transaction: false },
    );
    await bootFailure({ ...base(), validateChecksums: false }, { migrations: [fromSource('001_items', ORIGINAL), risky] });

    const changed = fromSource('001_items', CHANGED);
    const backups = `${t.dir.path}/backups`;
    const { app } = await bootApp(
      { database: t.db, backup: { dir: backups }, validateChecksums: 'warn', failOnError: false },
      { migrations: [changed, migration('002_risky')] },
    );
    const result = await app.get(AutoMigrationService).repair();
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();

    expect(result).toEqual({ checksumsAccepted: ['001_items'], attemptsCleared: ['002_risky'], repairedAt: expect.stringMatching(/Z$/) });
    expect(status.state).toBe('up-to-date');
    expect(status.lastBackup?.file).toMatch(/^app\.db\.\d{8}T\d{9}Z\.001_items\.backup$/);
    expect(inspect(t.db, (d) => d.prepare("SELECT value FROM migration_meta WHERE key = 'last_repair_at'").get())).toEqual({
      value: expect.stringMatching(/Z$/),
    });
    // The next strict start accepts the repaired checksum.
    await (await bootApp(base(), { migrations: [fromSource('001_items', CHANGED), migration('002_risky')] })).app.close();
    expect(historyNames(t.db)).toEqual(['001_items', '002_risky']);
  });

  it('repair() with nothing to repair changes nothing', async () => {
    await applyOriginal();
    const bytes = inspect(t.db, (d) => d.prepare('SELECT * FROM migration_meta ORDER BY key').all());
    const { app } = await bootApp(base(), { migrations: [fromSource('001_items', ORIGINAL)] });
    expect(await app.get(AutoMigrationService).repair()).toEqual({ checksumsAccepted: [], attemptsCleared: [], repairedAt: expect.any(String) });
    await app.close();
    expect(inspect(t.db, (d) => d.prepare('SELECT * FROM migration_meta ORDER BY key').all())).toEqual(bytes);
  });
});

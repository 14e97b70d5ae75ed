import BetterSqlite3 from 'better-sqlite3';
import { DatabaseOperationFailedError, InterruptedMigrationError, MigrationFailedError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * A migration commits together with its history row: it is applied and recorded, or neither.
 * The history insert of one migration is made to fail (a trigger on `migrations` raises for its
 * name), so that a runner that committed the migration before recording it would leave it
 * applied but unrecorded, and run it again at the next start.
 */

const REFUSED = '003_refused';
const REFUSAL = 'history insert refused by the test';

/** Each migration creates its table and adds a row to `ledger`, a table of the first one: data as well as schema must roll back. */
function ledgerMigration(name: string, options: { transaction?: boolean } = {}) {
  return migration(
    name,
    (db) => {
      db.exec(`CREATE TABLE ${tableFor(name)} (id INTEGER PRIMARY KEY)`);
      db.prepare('INSERT INTO ledger (name) VALUES (?)').run(name);
    },
    options,
  );
}

const first = migration('001_ledger', (db) => {
  db.exec('CREATE TABLE ledger (name TEXT NOT NULL)');
});
const withRefused = (options: { transaction?: boolean } = {}) => [
  first,
  ledgerMigration('002_kept'),
  ledgerMigration(REFUSED, options),
  ledgerMigration('004_after'),
];

describe('a migration and its history row commit together', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });

  /** Applies the first migration (so the module's tables exist), then makes the history insert of REFUSED fail. */
  async function prepare(): Promise<void> {
    await (await bootApp(base(), { migrations: [first] })).app.close();
    write(t.db, `CREATE TRIGGER refuse_history BEFORE INSERT ON migrations WHEN NEW.name = '${REFUSED}' BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END`);
  }

  const ledger = () => inspect(t.db, (db) => (db.prepare('SELECT name FROM ledger ORDER BY rowid').all() as { name: string }[]).map((r) => r.name));

  it("in transactionMode 'each': the migration whose history row cannot be written is rolled back, the one before it stays", async () => {
    await prepare();
    const { error } = await bootFailure({ ...base(), transactionMode: 'each' }, { migrations: withRefused() });
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: REFUSED });
    expect(error.message).toContain(REFUSAL);

    expect(historyNames(t.db)).toEqual(['001_ledger', '002_kept']);
    expect(ledger()).toEqual(['002_kept']);
    expect(tableNames(t.db)).toContain(tableFor('002_kept'));
    expect(tableNames(t.db)).not.toContain(tableFor(REFUSED));
    expect(tableNames(t.db)).not.toContain(tableFor('004_after'));
  });

  it("in transactionMode 'all': the whole batch is rolled back with it", async () => {
    await prepare();
    const { error } = await bootFailure({ ...base(), transactionMode: 'all' }, { migrations: withRefused() });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: REFUSED });
    expect(error.message).toContain(REFUSAL);

    expect(historyNames(t.db)).toEqual(['001_ledger']);
    expect(ledger()).toEqual([]);
    for (const name of ['002_kept', REFUSED, '004_after']) expect(tableNames(t.db)).not.toContain(tableFor(name));
  });

  it('once the cause is gone, the next start applies the refused migration exactly once', async () => {
    await prepare();
    await bootFailure(base(), { migrations: withRefused() });
    write(t.db, 'DROP TRIGGER refuse_history');
    await (await bootApp(base(), { migrations: withRefused() })).app.close();
    expect(historyNames(t.db)).toEqual(['001_ledger', '002_kept', REFUSED, '004_after']);
    expect(ledger()).toEqual(['002_kept', REFUSED, '004_after']);
  });

  it('a transaction: false migration (which cannot be rolled back) stays marked as interrupted, so no later start runs it again blindly', async () => {
    await prepare();
    // README: "Its history row is written right after it. If it fails half-way, what it completed
    // stays"; an attempt row is removed together with the history row, and while it stays, starts
    // refuse with InterruptedMigrationError naming the migration.
    const { error } = await bootFailure(base(), { migrations: withRefused({ transaction: false }) });
    expect(error).toBeInstanceOf(DatabaseOperationFailedError);
    expect(error.message).toContain(REFUSED);
    expect(error.message).toContain(REFUSAL);

    // What it did stays (nothing outside a transaction can be undone), unrecorded, and no later migration ran.
    expect(historyNames(t.db)).toEqual(['001_ledger', '002_kept']);
    expect(ledger()).toEqual(['002_kept', REFUSED]);
    expect(tableNames(t.db)).not.toContain(tableFor('004_after'));
    expect(inspect(t.db, (db) => db.prepare('SELECT name FROM migration_attempts').all())).toEqual([{ name: REFUSED }]);

    // Even with the cause gone, the next start refuses to run it again and names it.
    write(t.db, 'DROP TRIGGER refuse_history');
    const next = await bootFailure(base(), { migrations: withRefused({ transaction: false }) });
    expect(next.error).toBeInstanceOf(InterruptedMigrationError);
    expect(next.error.message).toContain(REFUSED);
    expect(ledger()).toEqual(['002_kept', REFUSED]);
  });
});

/** Runs SQL of the test's own (not the module's) on the file. */
function write(file: string, sql: string): void {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

import type { Database } from 'better-sqlite3';
import { AutoMigrationService, RevertFailedError } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { reversibleMigration, tableFor } from '../helpers/migrations';
import { historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * A down() that ends the transaction it runs in (COMMIT, perhaps BEGIN again) has committed what
 * it ran before that: the revert is reported as failed, saying what may be committed and that the
 * migration is still recorded as applied, never as "rolled back" nor as reverted.
 */
describe('a down() that ends the transaction itself', () => {
  const t = useTempDatabase();

  async function revertWith(down: (db: Database) => void): Promise<RevertFailedError> {
    const { app } = await bootApp({ database: t.db, backup: false }, { migrations: [reversibleMigration('001_a'), reversibleMigration('002_b', down)] });
    try {
      return (await app
        .get(AutoMigrationService)
        .revert()
        .catch((error: unknown) => error)) as RevertFailedError;
    } finally {
      await app.close();
    }
  }

  function expectHonest(error: RevertFailedError): void {
    expect(error).toBeInstanceOf(RevertFailedError);
    expect(error).toMatchObject({ code: 'REVERT_FAILED', migration: '002_b' });
    expect(error.message).toContain('What down() ran before it ended its transaction may be committed although the migration is still recorded as applied');
    expect(error.message).toContain('use transaction: false for a migration that manages its own transactions');
    // Said once: the cause tells how down() ended the transaction, the outcome what that means.
    expect(error.message.match(/may be committed/g)).toHaveLength(1);
    expect(error.message.match(/ended the transaction it runs in/g)).toHaveLength(1);
    expect(error.message).not.toContain('Its changes were rolled back');
    expect(error.message).not.toContain('(transaction: false)');
    // The DROP before the COMMIT is committed; the history row was not deleted.
    expect(tableNames(t.db)).not.toContain(tableFor('002_b'));
    expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
  }

  it('COMMIT, more statements, then a throw: says what may be committed, not "rolled back"', async () => {
    const error = await revertWith((db) => {
      db.exec(`DROP TABLE ${tableFor('002_b')}; COMMIT; CREATE TABLE after_commit (id INTEGER)`);
      throw new Error('boom after commit');
    });
    expectHonest(error);
    expect(error.message).toContain('boom after commit (thrown after down() ended the transaction it runs in (COMMIT or ROLLBACK))');
  });

  it('COMMIT; BEGIN and no throw: refused instead of recorded as reverted; what follows BEGIN is rolled back', async () => {
    const error = await revertWith((db) => {
      db.exec(`DROP TABLE ${tableFor('002_b')}; COMMIT; BEGIN; CREATE TABLE after_begin (id INTEGER)`);
    });
    expectHonest(error);
    expect(error.message).toContain('down() ended the transaction it runs in (COMMIT or ROLLBACK, then BEGIN again)');
    expect(tableNames(t.db)).not.toContain('after_begin');
  });
});

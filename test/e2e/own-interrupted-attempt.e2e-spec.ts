import { AutoMigrationService } from '../../src/auto-migration';
import { MigrationLease } from '../../src/auto-migration/lock/migration-lease';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { historyNames, inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * An attempt row this very process left (a migration that ended the runner's transaction itself,
 * with failOnError: false, so the process stays up) is interrupted, also while this process holds
 * the lock again: it is never "running" because its owner is the lock holder.
 */
describe('an attempt row left by this process while it holds the lock again', () => {
  const t = useTempDatabase();
  const escapes = () =>
    migration('002_escapes', (db) => {
      db.exec('CREATE TABLE before_commit (id INTEGER); COMMIT; BEGIN');
    });

  it('is interrupted in check() while this process holds the lock; migrate() refuses and resolve settles it', async () => {
    const { app } = await bootApp(
      { database: t.db, backup: false, failOnError: false },
      { migrations: [migration('001_first'), escapes(), migration('003_later')] },
    );
    try {
      const service = app.get(AutoMigrationService);
      const lease = app.get(MigrationLease);
      expect((await service.getStatus()).lastError).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_escapes' });

      // This process holds the lock (as during a later migrate(), resolve or backup of its own).
      const during = await lease.hold(() => service.check());
      expect(during.state).toBe('failed');
      expect(during.lastError).toMatchObject({ code: 'INTERRUPTED_MIGRATION', migration: '002_escapes' });

      const again = await service.migrate();
      expect(again.lastError).toMatchObject({ code: 'INTERRUPTED_MIGRATION', migration: '002_escapes' });
      expect(historyNames(t.db)).toEqual(['001_first']);

      const resolved = await service.resolve('002_escapes', 'applied');
      expect(resolved.state).toBe('up-to-date');
      expect(historyNames(t.db)).toEqual(['001_first', '002_escapes', '003_later']);
      expect(inspect(t.db, (db) => db.prepare('SELECT COUNT(*) AS n FROM migration_attempts').get())).toEqual({ n: 0 });
    } finally {
      await app.close();
    }
  });
});

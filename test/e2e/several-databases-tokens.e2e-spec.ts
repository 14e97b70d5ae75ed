import type { Database } from 'better-sqlite3';
import { Test } from '@nestjs/testing';
import { AutoMigrationModule, AutoMigrationService, getAutoMigrationServiceToken, getMigrationDatabaseToken } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * The public tokens from outside the module graph (`app.get()`, `moduleRef.get()`,
 * `overrideProvider()`): the plain class and symbol are the default instance's whatever the
 * import order (Nest returns the last module's provider of a token several modules provide).
 */

describe('several databases: public tokens through app.get() and overrideProvider()', () => {
  const t = useTempDatabase();

  it.each([
    ['the default import first', false],
    ['the named import first', true],
  ])('app.get() of the plain tokens gives the default instance with %s', async (_, namedFirst) => {
    const imports = [AutoMigrationModule.forRoot({ database: t.db }), AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') })];
    if (namedFirst) imports.reverse();
    const { app } = await bootApp({}, { autoMigration: imports[0], imports: [imports[1]], migrations: [migration('001_a')] });
    try {
      expect(app.get(AutoMigrationService).database).toBe('default');
      expect(app.get<AutoMigrationService>(getAutoMigrationServiceToken('analytics')).database).toBe('analytics');
      expect(app.get<Database>(getMigrationDatabaseToken()).name).toBe(t.db);
      expect(app.get<Database>(getMigrationDatabaseToken('analytics')).name).toBe(t.dir.file('analytics.db'));
    } finally {
      await app.close();
    }
  });

  it("overrideProvider(getMigrationDatabaseToken()) replaces the default instance's connection only", async () => {
    const stand = { stand: 'in' };
    const moduleRef = await Test.createTestingModule({
      imports: [AutoMigrationModule.forRoot({ database: t.db }), AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') })],
    })
      .overrideProvider(getMigrationDatabaseToken())
      .useValue(stand)
      .compile();
    try {
      expect(moduleRef.get(getMigrationDatabaseToken())).toBe(stand);
      expect(moduleRef.get<Database>(getMigrationDatabaseToken('analytics')).name).toBe(t.dir.file('analytics.db'));
    } finally {
      await moduleRef.close();
    }
  });
});

import 'reflect-metadata';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidOptionsError } from '../../src/auto-migration/errors';
import { checkInstanceConflicts } from '../../src/auto-migration/instances/instance-conflicts';
import { resolveOptions } from '../../src/auto-migration/options/resolve-options';
import { tempDir } from '../helpers/temp-dir';

const CWD = resolve('/srv/app');

/** An import as `MigrationInstances` hands it over: its name and its options resolved the way the module resolves them. */
const instance = (name: string, options: object, cwd = CWD) => ({ name, options: resolveOptions(options, cwd) });
const pg = (schema: string, connectionString = 'postgres://app@db.internal:5432/shop') => ({ postgres: { connectionString, schema } });

/** The problems of the error `checkInstanceConflicts` throws. */
function problemsOf(instances: Parameters<typeof checkInstanceConflicts>[0]): readonly string[] {
  let caught: unknown;
  try {
    checkInstanceConflicts(instances);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionsError);
  expect(caught).toMatchObject({ code: 'INVALID_OPTIONS' });
  return (caught as InvalidOptionsError).problems;
}

describe('checkInstanceConflicts', () => {
  it('accepts imports that share nothing: other names, files, schemas, SQL folders and backup names', () => {
    expect(() =>
      checkInstanceConflicts([
        instance('default', { database: 'data/main.db', migrationsDir: 'sql/main' }),
        instance('analytics', { database: 'data/analytics.db', migrationsDir: 'sql/analytics' }),
        instance('shop', pg('shop')),
        instance('audit', pg('audit')),
        instance('other_server', pg('shop', 'postgres://app@replica.internal:5432/shop')),
        instance('other_db', pg('shop', 'postgres://app@db.internal:5432/stock')),
      ]),
    ).not.toThrow();
  });

  it('accepts none or one import', () => {
    expect(() => checkInstanceConflicts([])).not.toThrow();
    expect(() => checkInstanceConflicts([instance('default', { database: 'app.db' })])).not.toThrow();
  });

  it('refuses one name twice, naming it and both databases', () => {
    expect(problemsOf([instance('analytics', { database: 'a.db' }), instance('analytics', { database: 'b.db' })])).toEqual([
      `name: AutoMigrationModule is imported twice as instance "analytics" (one migrates ${join(CWD, 'a.db')}, the other ${join(CWD, 'b.db')}); ` +
        'import each name once, and give the other database a name of its own: forRoot({ name: "analytics", ... })',
    ]);
    expect(problemsOf([instance('default', { database: 'a.db' }), instance('default', { database: 'b.db' })])).toEqual([
      expect.stringMatching(/^name: AutoMigrationModule is imported twice as the default instance /),
    ]);
  });

  it('refuses two names on one SQLite file, however the path is spelled', () => {
    const expected = [
      `database: the default instance and instance "analytics" both migrate ${join(CWD, 'data/app.db')}; ` +
        'two imports of one database would each keep its own lock and history in the same tables: import it once',
    ];
    expect(
      problemsOf([instance('default', { database: 'data/app.db', backup: false }), instance('analytics', { database: 'data/app.db', backup: false })]),
    ).toEqual(expected);
    expect(
      problemsOf([
        instance('default', { database: 'data/app.db', backup: false }),
        instance('analytics', { database: 'app.db', backup: false }, join(CWD, 'data')),
        instance('reports', { database: join(CWD, 'data', '..', 'data', 'app.db'), backup: false }),
      ]),
    ).toEqual([expected[0], expect.stringMatching(/^database: the default instance and instance "reports" both migrate /)]);
  });

  it('refuses a symlink to a file another import migrates (resolved on disk, also through a linked folder)', () => {
    const dir = tempDir();
    try {
      mkdirSync(dir.file('real'));
      writeFileSync(dir.file('real/app.db'), '');
      symlinkSync(dir.file('real/app.db'), dir.file('link.db'));
      symlinkSync(dir.file('real'), dir.file('linked-folder'));
      expect(
        problemsOf([
          instance('default', { database: dir.file('real/app.db'), backup: false }),
          instance('analytics', { database: dir.file('link.db'), backup: false }),
          // The file does not exist yet: its folder is resolved.
          instance('reports', { database: dir.file('linked-folder/new.db'), backup: false }),
          instance('audit', { database: dir.file('real/new.db'), backup: false }),
        ]),
      ).toEqual([
        expect.stringMatching(/^database: the default instance and instance "analytics" both migrate /),
        expect.stringMatching(/^database: instance "reports" and instance "audit" both migrate /),
      ]);
    } finally {
      dir.remove();
    }
  });

  it('refuses two names on one PostgreSQL schema of one server and database', () => {
    expect(problemsOf([instance('default', pg('shop')), instance('analytics', pg('shop'))])).toEqual([
      expect.stringMatching(/^database: the default instance and instance "analytics" both migrate postgres:\/\/.*db\.internal.*\(schema "shop"\); /),
    ]);
  });

  it('lets several in-memory databases be, each its own', () => {
    expect(() => checkInstanceConflicts([instance('default', { database: ':memory:' }), instance('analytics', { database: ':memory:' })])).not.toThrow();
  });

  it('refuses one folder of SQL files read by two instances', () => {
    expect(
      problemsOf([
        instance('default', { database: 'main.db', migrationsDir: 'sql' }),
        instance('analytics', { database: 'analytics.db', migrationsDir: './sql/' }),
      ]),
    ).toEqual([
      `migrationsDir: the default instance and instance "analytics" both read SQL files from ${join(CWD, 'sql')}; ` +
        'a folder of SQL files belongs to one instance: give each its own folder',
    ]);
  });

  it('refuses backups of two files of one name into one folder, and only then', () => {
    const shared = { dir: '/var/backups/app' };
    expect(
      problemsOf([instance('default', { database: 'one/app.db', backup: shared }), instance('analytics', { database: 'two/app.db', backup: shared })]),
    ).toEqual([
      'backup.dir: the default instance and instance "analytics" write backups named app.db.* into /var/backups/app; ' +
        "each would delete the other's as old ones: give one of them another backup.dir",
    ]);
    // Another file name, another folder (the default one beside each file), or no backups: no clash.
    expect(() =>
      checkInstanceConflicts([
        instance('default', { database: 'one/app.db', backup: shared }),
        instance('analytics', { database: 'two/analytics.db', backup: shared }),
        instance('reports', { database: 'three/app.db' }),
        instance('audit', { database: 'four/app.db' }),
        instance('cache', { database: 'five/app.db', backup: false }),
      ]),
    ).not.toThrow();
  });

  it('reports every clash of every import in one error', () => {
    expect(
      problemsOf([instance('default', { database: 'app.db', migrationsDir: 'sql' }), instance('default', { database: 'app.db', migrationsDir: 'sql' })]).map(
        (problem) => problem.split(':')[0],
      ),
    ).toEqual(['name', 'database', 'migrationsDir', 'backup.dir']);
  });

  it('compares PostgreSQL imports by where their history lives: the migration connection when one is given', () => {
    const split = (schema: string, migration: string) => ({
      postgres: { connectionString: 'postgres://app@pgbouncer.internal:6432/shop', migrationConnectionString: migration, schema },
    });
    // Two pools through one pooler, each migrating a different server: no clash.
    expect(() =>
      checkInstanceConflicts([
        instance('default', split('shop', 'postgres://app@db-a.internal:5432/shop')),
        instance('analytics', split('shop', 'postgres://app@db-b.internal:5432/shop')),
      ]),
    ).not.toThrow();
    // One server behind two spellings of the app's connection: the migration connection gives it away.
    expect(
      problemsOf([
        instance('default', split('shop', 'postgres://app@db-a.internal:5432/shop')),
        instance('analytics', { postgres: { connectionString: 'postgres://app@db-a.internal:5432/shop', schema: 'shop' } }),
      ]),
    ).toEqual([expect.stringMatching(/^database: the default instance and instance "analytics" both migrate /)]);
  });
});

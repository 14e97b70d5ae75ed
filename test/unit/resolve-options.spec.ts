import 'reflect-metadata';
import { join, resolve } from 'node:path';
import { AutoMigrationError, InvalidOptionsError } from '../../src/auto-migration/errors';
import { resolveOptions, resolveStatusController } from '../../src/auto-migration/options/resolve-options';

const CWD = resolve('/srv/app');

function invalid(fn: () => unknown): InvalidOptionsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionsError);
  expect(caught).toBeInstanceOf(AutoMigrationError);
  expect((caught as InvalidOptionsError).code).toBe('INVALID_OPTIONS');
  return caught as InvalidOptionsError;
}

/** Asserts that the error reports `path` both in `problems` and in the message. */
function expectField(error: InvalidOptionsError, path: string): void {
  expect(error.problems.some((p) => p.startsWith(`${path}:`))).toBe(true);
  expect(error.message).toContain(`${path}:`);
}

describe('resolveOptions', () => {
  describe('defaults', () => {
    it('fills every default for a file database', () => {
      const resolved = resolveOptions({ database: 'data/app.db' }, CWD);
      expect(resolved).toEqual({
        database: resolve(CWD, 'data/app.db'),
        postgres: null,
        backupHook: null,
        secrets: [],
        inMemory: false,
        backup: { dir: join(resolve(CWD, 'data'), 'backups'), keep: 5, verify: 'quick' },
        lock: { timeoutMs: 60_000, staleAfterMs: 15_000 },
        failOnError: true,
        validateChecksums: true,
        transactionMode: 'each',
        allowOutOfOrder: false,
        pragmas: {},
        rehearse: false,
        safety: { mode: 'off', longLockMs: 1000 },
        archive: null,
        mode: 'blocking',
        verifyIntervalMs: 5000,
        migrationsDir: null,
      });
    });

    it('resolves the start mode and a relative migrationsDir against the working directory', () => {
      const resolved = resolveOptions({ database: 'app.db', mode: 'verify', verifyIntervalMs: 250, migrationsDir: 'sql' }, CWD);
      expect(resolved).toMatchObject({ mode: 'verify', verifyIntervalMs: 250, migrationsDir: join(CWD, 'sql') });
    });

    it('names a bad mode, interval and migrationsDir', () => {
      expect(() => resolveOptions({ database: 'app.db', mode: 'lazy', verifyIntervalMs: 5, migrationsDir: '' }, CWD)).toThrow(
        expect.objectContaining({
          message: expect.stringMatching(
            /mode: mode must be one of the following values: blocking, background, verify \(got "lazy"\)[\s\S]*verifyIntervalMs: verifyIntervalMs must not be less than 100[\s\S]*migrationsDir: migrationsDir should not be empty/,
          ),
        }),
      );
    });

    it('treats explicitly undefined optional fields as absent', () => {
      const resolved = resolveOptions({ database: 'app.db', backup: undefined, lock: undefined, pragmas: undefined, failOnError: undefined }, CWD);
      expect(resolved.backup).toEqual({ dir: join(CWD, 'backups'), keep: 5, verify: 'quick' });
      expect(resolved.lock).toEqual({ timeoutMs: 60_000, staleAfterMs: 15_000 });
      expect(resolved.failOnError).toBe(true);
      expect(resolved.pragmas).toEqual({});
    });

    it('fills the missing fields of partial nested objects', () => {
      const resolved = resolveOptions({ database: 'app.db', backup: { keep: 2 }, lock: { timeoutMs: 0 } }, CWD);
      expect(resolved.backup).toEqual({ dir: join(CWD, 'backups'), keep: 2, verify: 'quick' });
      expect(resolved.lock).toEqual({ timeoutMs: 0, staleAfterMs: 15_000 });
    });

    it('keeps given values', () => {
      const resolved = resolveOptions(
        {
          database: 'app.db',
          backup: { dir: 'bk', keep: 9, verify: 'full' },
          lock: { timeoutMs: 1000, staleAfterMs: 500 },
          failOnError: false,
          validateChecksums: 'warn',
          transactionMode: 'all',
        },
        CWD,
      );
      expect(resolved).toMatchObject({
        backup: { dir: resolve(CWD, 'bk'), keep: 9, verify: 'full' },
        lock: { timeoutMs: 1000, staleAfterMs: 500 },
        failOnError: false,
        validateChecksums: 'warn',
        transactionMode: 'all',
      });
    });
  });

  describe('database path', () => {
    it('resolves a relative path against the given cwd', () => {
      expect(resolveOptions({ database: 'data/app.db' }, CWD).database).toBe(resolve(CWD, 'data', 'app.db'));
      expect(resolveOptions({ database: '../other/app.db' }, CWD).database).toBe(resolve(CWD, '..', 'other', 'app.db'));
    });

    it('keeps an absolute path', () => {
      const abs = resolve('/var/db/app.db');
      expect(resolveOptions({ database: abs }, CWD).database).toBe(abs);
      expect((resolveOptions({ database: abs }, CWD).backup as { dir: string }).dir).toBe(join(resolve('/var/db'), 'backups'));
    });

    it("keeps ':memory:' as is", () => {
      const resolved = resolveOptions({ database: ':memory:' }, CWD);
      expect(resolved.database).toBe(':memory:');
      expect(resolved.inMemory).toBe(true);
    });

    it('resolves a relative backup dir against the cwd', () => {
      const resolved = resolveOptions({ database: 'data/app.db', backup: { dir: 'bk' } }, CWD);
      expect((resolved.backup as { dir: string }).dir).toBe(resolve(CWD, 'bk'));
    });
  });

  describe('backup: false', () => {
    it('resolves to false', () => {
      expect(resolveOptions({ database: 'app.db', backup: false }, CWD).backup).toBe(false);
    });
  });

  describe('invalid options', () => {
    it('throws one error listing every bad field', () => {
      const error = invalid(() =>
        resolveOptions(
          {
            database: 5,
            backup: { dir: 3, keep: -1, verify: 'fast', extra: 1 },
            lock: { timeoutMs: -5, staleAfterMs: 'soon', foo: 1 },
            failOnError: 'yes',
            validateChecksums: 'maybe',
            transactionMode: 'some',
            pragmas: { journal_mode: 'sideways', bogus: 1, busy_timeout: -1, foreign_keys: 'on', synchronous: 'fast', cache_size: 1.5 },
            unknownTop: 1,
          },
          CWD,
        ),
      );
      const fields = [
        'database',
        'backup.dir',
        'backup.keep',
        'backup.verify',
        'backup.extra',
        'lock.timeoutMs',
        'lock.staleAfterMs',
        'lock.foo',
        'failOnError',
        'validateChecksums',
        'transactionMode',
        'pragmas.journal_mode',
        'pragmas.bogus',
        'pragmas.busy_timeout',
        'pragmas.foreign_keys',
        'pragmas.synchronous',
        'pragmas.cache_size',
        'unknownTop',
      ];
      for (const field of fields) expectField(error, field);
      expect(error.message).toContain(`(${error.problems.length} problems)`);
    });

    it.each([
      [{ database: '' }, 'database'],
      [{}, 'database'],
      [{ database: 'a.db', backup: true }, 'backup'],
      [{ database: 'a.db', backup: null }, 'backup'],
      [{ database: 'a.db', backup: 'yes' }, 'backup'],
      [{ database: 'a.db', backup: { keep: 0 } }, 'backup.keep'],
      [{ database: 'a.db', backup: { keep: 1.5 } }, 'backup.keep'],
      [{ database: 'a.db', backup: { dir: '' } }, 'backup.dir'],
      [{ database: 'a.db', lock: 'abc' }, 'lock'],
      [{ database: 'a.db', lock: [] }, 'lock'],
      [{ database: 'a.db', lock: { timeoutMs: -1 } }, 'lock.timeoutMs'],
      [{ database: 'a.db', lock: { timeoutMs: Number.NaN } }, 'lock.timeoutMs'],
      [{ database: 'a.db', lock: { timeoutMs: Infinity } }, 'lock.timeoutMs'],
      [{ database: 'a.db', lock: { timeoutMs: '100' } }, 'lock.timeoutMs'],
      [{ database: 'a.db', lock: { staleAfterMs: 0 } }, 'lock.staleAfterMs'],
      [{ database: 'a.db', failOnError: 1 }, 'failOnError'],
      [{ database: 'a.db', validateChecksums: 'true' }, 'validateChecksums'],
      [{ database: 'a.db', transactionMode: 'EACH' }, 'transactionMode'],
      [{ database: 'a.db', pragmas: 'wal' }, 'pragmas'],
      [{ database: 'a.db', pragmas: { busy_timeout: 1.5 } }, 'pragmas.busy_timeout'],
      [{ database: 'a.db', pragmas: { user_version: 3 } }, 'pragmas.user_version'],
      [{ database: 'a.db', dataBase: 'b.db' }, 'dataBase'],
    ])('refuses %j (%s)', (raw, field) => {
      expectField(
        invalid(() => resolveOptions(raw, CWD)),
        field,
      );
    });

    it.each([
      ['journal_mode', 'wal; DROP TABLE x'],
      ['journal_mode', "wal'; DROP TABLE x; --"],
      ['synchronous', 'normal; DROP TABLE x'],
      ['journal_mode', 'WAL\nDROP'],
    ])('refuses a pragma value that tries SQL injection (%s = %j)', (key, value) => {
      const error = invalid(() => resolveOptions({ database: 'a.db', pragmas: { [key]: value } }, CWD));
      expectField(error, `pragmas.${key}`);
    });

    it('refuses statusController inside the options, saying to pass it beside useFactory', () => {
      for (const statusController of [false, { path: 'x' }]) {
        const error = invalid(() => resolveOptions({ database: 'a.db', statusController }, CWD));
        expectField(error, 'statusController');
        expect(error.message).toContain('beside useFactory');
      }
    });

    it.each([['app.db'], [null], [undefined], [42], [['app.db']], [true]])('refuses non-object options %j', (raw) => {
      const error = invalid(() => resolveOptions(raw, CWD));
      expect(error.problems).toHaveLength(1);
      expect(error.message).toContain('options must be an object');
    });
  });

  describe('pragmas', () => {
    it('accepts enum values case-insensitively and returns them lower-case', () => {
      const resolved = resolveOptions({ database: 'a.db', pragmas: { journal_mode: 'WAL', synchronous: 'Normal' } }, CWD);
      expect(resolved.pragmas).toEqual({ journal_mode: 'wal', synchronous: 'normal' });
    });

    it('keeps numeric and boolean pragmas', () => {
      const pragmas = { busy_timeout: 2000, foreign_keys: true, cache_size: -2000 };
      expect(resolveOptions({ database: 'a.db', pragmas }, CWD).pragmas).toEqual(pragmas);
    });

    it('does not modify the given options object', () => {
      const raw = { database: 'a.db', pragmas: { journal_mode: 'WAL' } };
      resolveOptions(raw, CWD);
      expect(raw).toEqual({ database: 'a.db', pragmas: { journal_mode: 'WAL' } });
    });
  });
});

describe('resolveStatusController', () => {
  class Guard {
    canActivate(): boolean {
      return true;
    }
  }

  it('false leaves the controller out', () => {
    expect(resolveStatusController(false)).toBe(false);
  });

  it("undefined gives the default path 'migrations/status' without guards", () => {
    expect(resolveStatusController(undefined)).toEqual({ path: 'migrations/status', guards: [] });
    expect(resolveStatusController({})).toEqual({ path: 'migrations/status', guards: [] });
  });

  it.each([['admin/migrations'], ['/admin/migrations/'], ['status'], ['v1/db-migrations.json']])('accepts the path %j', (path) => {
    expect(resolveStatusController({ path })).toEqual({ path, guards: [] });
  });

  it.each([['a b'], [''], ['a//b'], ['a?b=1'], ['a#b'], ['https://x/y'], [3]])('refuses the path %j', (path) => {
    expectField(
      invalid(() => resolveStatusController({ path })),
      'statusController.path',
    );
  });

  it('accepts guard classes and guard instances', () => {
    const instance = new Guard();
    const resolved = resolveStatusController({ guards: [Guard, instance] });
    expect(resolved).not.toBe(false);
    if (resolved === false) return;
    expect(resolved.guards).toHaveLength(2);
    expect(resolved.guards[0]).toBe(Guard);
    expect(resolved.guards[1]).toBe(instance);
  });

  it.each([[[1]], [[{}]], [[{ canActivate: true }]], [{}], [Guard], ['Guard'], [[null]]])('refuses guards %p', (guards) => {
    expectField(
      invalid(() => resolveStatusController({ guards })),
      'statusController.guards',
    );
  });

  it('refuses unknown keys', () => {
    expectField(
      invalid(() => resolveStatusController({ path: 'x', route: 'y' })),
      'statusController.route',
    );
  });

  it('lists a bad path and bad guards together', () => {
    const error = invalid(() => resolveStatusController({ path: 'a b', guards: [1] }));
    expectField(error, 'statusController.path');
    expectField(error, 'statusController.guards');
  });

  it.each([[true], [null], ['migrations/status'], [[]]])('refuses %j', (raw) => {
    expectField(
      invalid(() => resolveStatusController(raw)),
      'statusController',
    );
  });
});

describe('options: review fixes', () => {
  it('refuses null where a value is expected, naming the field', () => {
    const error = invalid(() => resolveOptions({ database: ':memory:', pragmas: { journal_mode: null }, lock: { timeoutMs: null } }, CWD));
    expectField(error, 'pragmas.journal_mode');
    expectField(error, 'lock.timeoutMs');
  });

  it('echoes a refused pragma value as given', () => {
    const error = invalid(() => resolveOptions({ database: ':memory:', pragmas: { journal_mode: 'WAL; DROP TABLE x' } }, CWD));
    expect(error.message).toContain('(got "WAL; DROP TABLE x")');
  });

  it('accepts pragma choices in any case and resolves them lower-case', () => {
    expect(resolveOptions({ database: ':memory:', pragmas: { journal_mode: 'WAL', synchronous: 'Normal' } }, CWD).pragmas).toEqual({
      journal_mode: 'wal',
      synchronous: 'normal',
    });
  });

  it('reports a missing database once', () => {
    const error = invalid(() => resolveOptions({}, CWD));
    expect(error.problems.filter((p) => p.startsWith('database:'))).toHaveLength(1);
  });

  it('reads a class instance by its own fields, and names the missing database for an empty one', () => {
    class Options {
      database = ':memory:';
    }
    expect(resolveOptions(new Options(), CWD).database).toBe(':memory:');
    expectField(
      invalid(() => resolveOptions(new Date(), CWD)),
      'database',
    );
  });

  it.each([['../x'], ['..'], ['a/../b'], [':id'], ['a/:id'], ['./status']])('refuses the status path %j', (path) => {
    invalid(() => resolveStatusController({ path }));
  });

  it('refuses a plain function as a guard (only classes with canActivate, or instances)', () => {
    invalid(() => resolveStatusController({ guards: [() => true] }));
  });
});

describe('options: messages that explain the mistake', () => {
  it.each([['file::memory:?cache=shared'], ['file:data/app.db?mode=ro'], ['FILE:app.db'], [':memory:?cache=shared']])(
    'refuses the SQLite URI %j instead of creating a file of that name',
    (database) => {
      const error = invalid(() => resolveOptions({ database }, CWD));
      expectField(error, 'database');
      expect(error.message).toContain('SQLite URIs');
    },
  );

  it.each([['file.db'], ['files/app.db'], [':memory:']])('still takes %j as a database', (database) => {
    expect(() => resolveOptions({ database }, CWD)).not.toThrow();
  });

  it('says a duration string is not milliseconds, without a range rule it did not break', () => {
    const error = invalid(() => resolveOptions({ database: 'a.db', lock: { timeoutMs: '60s' }, verifyIntervalMs: '5s' }, CWD));
    const timeout = error.problems.find((p) => p.startsWith('lock.timeoutMs:'));
    expect(timeout).toContain('whole number of milliseconds, such as 60000');
    expect(timeout).not.toContain('less than');
    expect(error.problems.find((p) => p.startsWith('verifyIntervalMs:'))).not.toContain('less than');
  });

  it('still names the range rule for a number out of range', () => {
    const error = invalid(() => resolveOptions({ database: 'a.db', lock: { timeoutMs: -5 } }, CWD));
    expect(error.problems.find((p) => p.startsWith('lock.timeoutMs:'))).toContain('must not be less than 0');
  });
});

describe('options: PostgreSQL', () => {
  const URL = 'postgres://app:s3cr3t-pass@db.internal:6543/shop';

  it('fills the defaults, names the target without user or password, and lists the secrets', () => {
    const resolved = resolveOptions({ postgres: { connectionString: URL } }, CWD);
    expect(resolved).toMatchObject({
      database: 'postgres://db.internal:6543/shop (schema "public")',
      postgres: { connectionString: URL, pool: null, migrationConnectionString: null, schema: 'public', ddl: { lockTimeoutMs: 5000, statementTimeoutMs: 0 } },
      backup: false,
      backupHook: null,
      inMemory: false,
      pragmas: {},
    });
    expect(resolved.secrets).toEqual(expect.arrayContaining([URL, 's3cr3t-pass']));
    expect(resolved.database).not.toContain('s3cr3t');
  });

  it('takes a schema, DDL timeouts, a migration connection and a backup hook', () => {
    const run = () => undefined;
    const direct = 'postgres://owner:other-secret@db.internal:5432/shop';
    const resolved = resolveOptions(
      {
        postgres: { connectionString: URL, migrationConnectionString: direct, schema: 'app', ddl: { lockTimeoutMs: 250, statementTimeoutMs: 60_000 } },
        backup: { run },
      },
      CWD,
    );
    expect(resolved.postgres).toMatchObject({ migrationConnectionString: direct, schema: 'app', ddl: { lockTimeoutMs: 250, statementTimeoutMs: 60_000 } });
    expect(resolved.backupHook).toEqual({ run });
    expect(resolved.database).toBe('postgres://db.internal:6543/shop (schema "app")');
    expect(resolved.secrets).toEqual(expect.arrayContaining([direct, 'other-secret']));
  });

  it("takes the application's own pg.Pool, its settings naming the server", () => {
    const pool = {
      query: () => Promise.resolve(),
      connect: () => Promise.resolve(),
      options: { host: 'db.internal', port: 5432, database: 'shop', password: 'pool-password' },
    };
    const resolved = resolveOptions({ postgres: { pool } }, CWD);
    expect(resolved.postgres?.pool).toBe(pool);
    expect(resolved.database).toBe('postgres://db.internal:5432/shop (schema "public")');
    expect(resolved.secrets).toContain('pool-password');
  });

  it('refuses database and postgres together, SQLite-only options, and a bad schema, URL, pool or backup, naming each', () => {
    const error = invalid(() =>
      resolveOptions(
        {
          database: 'app.db',
          pragmas: { busy_timeout: 5 },
          rehearse: true,
          backup: { dir: 'backups' },
          postgres: { connectionString: 'mysql://x', schema: 'Bad-Schema', ddl: { lockTimeoutMs: -1 }, pool: 'nope' },
        },
        CWD,
      ),
    );
    const text = error.problems.join('\n');
    expect(text).toContain('database: give "database" (a SQLite file) or "postgres" (a PostgreSQL server), not both');
    expect(text).toContain('pragmas: SQLite only');
    expect(text).toContain('rehearse: SQLite only');
    expect(text).toContain('backup: on PostgreSQL, false or { run: async (context) => ... }');
    expect(text).toContain('postgres.connectionString: connectionString must be a URL such as "postgres://user:password@host:5432/database"');
    expect(text).toContain('postgres.schema: schema must be a PostgreSQL identifier in lower case');
    expect(text).toContain('postgres.ddl.lockTimeoutMs');
    expect(text).toContain('postgres.pool: must be a pg.Pool');
  });

  it('also counts as secrets the passwords given as URL parameters', () => {
    const url = 'postgres://app@db.internal/shop?password=param-secret&sslpassword=key-secret';
    expect(resolveOptions({ postgres: { connectionString: url } }, CWD).secrets).toEqual(expect.arrayContaining([url, 'param-secret', 'key-secret']));
  });

  it('asks for a server when neither connectionString nor pool is given', () => {
    expect(invalid(() => resolveOptions({ postgres: {} }, CWD)).problems).toEqual([
      'postgres: give connectionString ("postgres://user:password@host:5432/database") or pool (your pg.Pool)',
    ]);
  });
});

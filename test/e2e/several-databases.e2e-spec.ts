import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import request from 'supertest';
import {
  AutoMigrationModule,
  type AutoMigrationModuleOptions,
  AutoMigrationService,
  getAutoMigrationServiceToken,
  getMigrationDatabaseToken,
  InjectAutoMigrationService,
  InjectMigrationDatabase,
  InvalidArgumentError,
  InvalidMigrationError,
  InvalidOptionsError,
  MigrationHealthIndicator,
} from '../../src/auto-migration';
import { bootApp, type CapturingLogger } from '../helpers/boot';
import { bootInstances, bootInstancesFailure, MODULE_TABLES, snapshotTree, structureOf } from '../helpers/instances';
import { migration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { tempDir } from '../helpers/temp-dir';
import { thrown } from '../helpers/thrown';

/*
 * An app with two SQLite files: the default instance on main.db, instance "analytics" on
 * analytics.db, in one temp folder per test. Everything is real: files, HTTP, Nest's container.
 */

let dir: ReturnType<typeof tempDir>;
let main: string;
let analytics: string;
beforeEach(() => {
  dir = tempDir('several-databases-');
  main = dir.file('main.db');
  analytics = dir.file('analytics.db');
});
afterEach(() => dir.remove());

const defaultImport = (more: Partial<AutoMigrationModuleOptions> = {}) => AutoMigrationModule.forRoot({ database: main, ...more });
const analyticsImport = (more: Partial<AutoMigrationModuleOptions> = {}) => AutoMigrationModule.forRoot({ name: 'analytics', database: analytics, ...more });
const toAnalytics = { database: 'analytics' };

/** One migration of each name per instance, each creating a table of its own: a table in the wrong file shows at once. */
const mainMigrations = () => [migration('001_init', (db) => void db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)')), migration('002_posts')];
const analyticsMigrations = () => [
  migration('001_init', (db) => void db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY)'), toAnalytics),
  migration('002_clicks', undefined, toAnalytics),
];

/** The line a driver logs when it opens its database. */
const OPENED = /^LOG \[[^\]]*\] Database: /;

const userTables = (file: string) => tableNames(file).filter((name) => !MODULE_TABLES.includes(name));

/** A migration whose `up` throws, of instance `database` (without it, of the default instance). */
const failing = (name: string, database?: string) =>
  migration(
    name,
    () => {
      throw new Error(`${name} fails on purpose`);
    },
    database ? { database } : {},
  );

describe('several databases: two SQLite files', () => {
  it('applies to each file exactly its own migrations (one name in both is two migrations), with a status route each', async () => {
    const { app } = await bootInstances([defaultImport({ backup: false }), analyticsImport({ backup: false })], {
      migrations: [...mainMigrations(), ...analyticsMigrations()],
    });
    const server = app.getHttpServer();
    let defaultDocument: Record<string, unknown>;
    try {
      defaultDocument = (await request(server).get('/migrations/status').expect(200)).body;
      const named = (await request(server).get('/migrations/status/analytics').expect(200)).body;

      expect(defaultDocument).not.toHaveProperty('database');
      expect(defaultDocument).toMatchObject({ state: 'up-to-date', pending: [] });
      expect((defaultDocument.applied as { name: string }[]).map((m) => m.name)).toEqual(['001_init', '002_posts']);

      expect(Object.keys(named)[0]).toBe('database');
      expect(named).toMatchObject({ database: 'analytics', state: 'up-to-date', pending: [] });
      expect((named.applied as { name: string }[]).map((m) => m.name)).toEqual(['001_init', '002_clicks']);
      // Apart from its name, a named instance's document has the default one's structure.
      const { database: _name, ...rest } = named;
      expect(structureOf(rest)).toEqual(structureOf(defaultDocument));
    } finally {
      await app.close();
    }

    expect(historyNames(main)).toEqual(['001_init', '002_posts']);
    expect(userTables(main)).toEqual([tableFor('002_posts'), 'users']);
    expect(historyNames(analytics)).toEqual(['001_init', '002_clicks']);
    expect(userTables(analytics)).toEqual(['events', tableFor('002_clicks')]);

    // The default instance's document is the one a single-database app serves.
    const alone = await bootApp({ database: dir.file('alone.db'), backup: false }, { migrations: mainMigrations() });
    try {
      const aloneDocument = (await request(alone.app.getHttpServer()).get('/migrations/status').expect(200)).body;
      expect(structureOf(defaultDocument!)).toEqual(structureOf(aloneDocument));
    } finally {
      await alone.app.close();
    }
  });

  it("injects each instance's connection and service by name; a plain AutoMigrationService is the default one's, even imported second", async () => {
    const audit = dir.file('audit.db');
    @Injectable()
    class Reports {
      constructor(
        @InjectMigrationDatabase('analytics') readonly analyticsDb: Database,
        @InjectMigrationDatabase('audit') readonly auditDb: Database,
        @InjectMigrationDatabase() readonly mainDb: Database,
        @InjectAutoMigrationService('analytics') readonly analyticsService: AutoMigrationService,
        @InjectAutoMigrationService('audit') readonly auditService: AutoMigrationService,
        @InjectAutoMigrationService() readonly mainByDecorator: AutoMigrationService,
        readonly mainService: AutoMigrationService,
      ) {}

      eventTables(): string[] {
        return (this.analyticsDb.prepare("SELECT name FROM sqlite_master WHERE name = 'events'").all() as { name: string }[]).map((r) => r.name);
      }
    }

    // Named imports first: their tokens must still not answer a plain parameter.
    const { app } = await bootInstances(
      [analyticsImport({ backup: false }), AutoMigrationModule.forRoot({ name: 'audit', database: audit, backup: false }), defaultImport({ backup: false })],
      { migrations: [...mainMigrations(), ...analyticsMigrations()], providers: [Reports] },
    );
    try {
      const reports = app.get(Reports);
      expect(reports.analyticsDb.name).toBe(analytics);
      expect(reports.auditDb.name).toBe(audit);
      expect(reports.mainDb.name).toBe(main);
      expect(reports.auditService.database).toBe('audit');
      expect(reports.eventTables()).toEqual(['events']);
      expect(reports.analyticsService.database).toBe('analytics');
      expect(reports.mainService.database).toBe('default');
      expect(reports.mainByDecorator).toBe(reports.mainService);
      expect((await reports.analyticsService.getStatus()).applied.map((m) => m.name)).toEqual(['001_init', '002_clicks']);
      expect((await reports.mainService.getStatus()).applied.map((m) => m.name)).toEqual(['001_init', '002_posts']);
      // The named tokens reach the same objects, for moduleRef.get() and overrideProvider().
      expect(app.get(getMigrationDatabaseToken('analytics'))).toBe(reports.analyticsDb);
      expect(app.get(getAutoMigrationServiceToken('analytics'))).toBe(reports.analyticsService);
    } finally {
      await app.close();
    }
  });

  it('keeps the backups of two files in one folder apart, each named after its own file', async () => {
    const migrations = [...mainMigrations(), ...analyticsMigrations()];
    const first = await bootInstances([defaultImport(), analyticsImport()], { migrations });
    await first.app.close();
    // Rows, so that each backup shows whose data it holds.
    for (const [file, table] of [
      [main, 'users'],
      [analytics, 'events'],
    ]) {
      const db = new BetterSqlite3(file);
      db.exec(`INSERT INTO ${table} VALUES (7)`);
      db.close();
    }

    @Injectable()
    class Services {
      constructor(
        readonly main: AutoMigrationService,
        @InjectAutoMigrationService('analytics') readonly analytics: AutoMigrationService,
      ) {}
    }
    const second = await bootInstances([defaultImport(), analyticsImport()], {
      migrations: [...migrations, migration('003_more'), migration('003_more', undefined, toAnalytics)],
      providers: [Services],
    });
    let lastBackups: (string | undefined)[];
    try {
      const services = second.app.get(Services);
      lastBackups = await Promise.all([services.main, services.analytics].map(async (service) => (await service.getStatus()).lastBackup?.file));
    } finally {
      await second.app.close();
    }

    const backups = backupsIn(join(dir.path, 'backups'));
    expect(backups).toEqual([
      expect.stringMatching(/^analytics\.db\.\d{8}T\d{9}Z\.002_clicks\.backup$/),
      expect.stringMatching(/^main\.db\.\d{8}T\d{9}Z\.002_posts\.backup$/),
    ]);
    const [analyticsBackup, mainBackup] = backups.map((file) => join(dir.path, 'backups', file));
    expect(historyNames(mainBackup)).toEqual(['001_init', '002_posts']);
    expect(inspect(mainBackup, (db) => db.prepare('SELECT id FROM users').all())).toEqual([{ id: 7 }]);
    expect(historyNames(analyticsBackup)).toEqual(['001_init', '002_clicks']);
    expect(inspect(analyticsBackup, (db) => db.prepare('SELECT id FROM events').all())).toEqual([{ id: 7 }]);
    expect(lastBackups!).toEqual([backups[1], backups[0]]);
    expect(historyNames(main)).toEqual(['001_init', '002_posts', '003_more']);
    expect(historyNames(analytics)).toEqual(['001_init', '002_clicks', '003_more']);
  });

  it.each([
    ['the default instance first', () => [defaultImport({ backup: false }), analyticsImport({ backup: false })], ['default', 'analytics']],
    ['instance "analytics" first', () => [analyticsImport({ backup: false }), defaultImport({ backup: false })], ['analytics', 'default']],
  ])('runs the instances in import order (%s)', async (_, imports, expected) => {
    const ran: string[] = [];
    const recording = (name: string, database?: string) =>
      migration(
        name,
        (db) => {
          ran.push(`${database ?? 'default'}:${name}`);
          db.exec(`CREATE TABLE ${tableFor(name)} (id INTEGER)`);
        },
        database ? { database } : {},
      );
    const { app } = await bootInstances(imports(), {
      migrations: [recording('001_a'), recording('002_b'), recording('001_a', 'analytics'), recording('002_b', 'analytics')],
    });
    await app.close();
    expect(ran).toEqual(expected.flatMap((instance) => [`${instance}:001_a`, `${instance}:002_b`]));
  });

  it("mode 'background': an instance's run waits for the run of the one imported before it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const waiting = new Promise<void>((resolve) => (entered = resolve));
    const ran: string[] = [];
    const slow = migration('001_slow', async (db) => {
      db.exec('CREATE TABLE slow (id INTEGER)');
      entered();
      await gate;
      ran.push('default:001_slow');
    });
    const quick = migration(
      '001_quick',
      (db) => {
        ran.push('analytics:001_quick');
        db.exec('CREATE TABLE quick (id INTEGER)');
      },
      toAnalytics,
    );
    const { app } = await bootInstances([defaultImport({ backup: false, mode: 'background' }), analyticsImport({ backup: false, mode: 'background' })], {
      migrations: [slow, quick],
    });
    try {
      await waiting;
      // Long enough for a run that did not wait to have applied its one migration.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(ran).toEqual([]);
      expect((await request(app.getHttpServer()).get('/migrations/status/analytics').expect(200)).body).toMatchObject({ state: 'pending' });
      release();
      await app.get<AutoMigrationService>(getAutoMigrationServiceToken('analytics')).whenReady();
      expect(ran).toEqual(['default:001_slow', 'analytics:001_quick']);
    } finally {
      release();
      await app.close();
    }
  });
});

describe('several databases: a failure in one instance', () => {
  it('with failOnError, a failure in the first import stops start-up before the second applies anything', async () => {
    const { error } = await bootInstancesFailure([defaultImport({ backup: false }), analyticsImport({ backup: false })], {
      migrations: [failing('001_fails'), ...analyticsMigrations()],
    });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '001_fails' });
    expect(userTables(main)).toEqual([]);
    // The second instance opened its file (Nest builds every provider before any bootstrap hook) but applied nothing.
    expect(userTables(analytics)).toEqual([]);
    expect(inspect(analytics, (db) => db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'migrations'").get())).toEqual({ n: 0 });
  });

  it('with failOnError, a failure in the second import leaves the first one applied', async () => {
    const { error } = await bootInstancesFailure([defaultImport({ backup: false }), analyticsImport({ backup: false })], {
      migrations: [...mainMigrations(), migration('001_fine', undefined, toAnalytics), failing('002_fails', 'analytics')],
    });
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', migration: '002_fails' });
    expect(historyNames(main)).toEqual(['001_init', '002_posts']);
    expect(historyNames(analytics)).toEqual(['001_fine']);
  });

  it('failOnError: false on the failing instance (imported first): the app starts, the other is applied and healthy, the failing one down', async () => {
    @Controller('health')
    class BothHealth {
      constructor(
        private readonly health: HealthCheckService,
        private readonly migrations: MigrationHealthIndicator,
      ) {}

      @Get()
      @HealthCheck()
      check() {
        return this.health.check([() => this.migrations.isHealthy('main'), () => this.migrations.isHealthy('analytics', { database: 'analytics' })]);
      }
    }
    const { app } = await bootInstances([analyticsImport({ backup: false, failOnError: false }), defaultImport({ backup: false })], {
      migrations: [...mainMigrations(), failing('001_fails', 'analytics')],
      imports: [TerminusModule],
      controllers: [BothHealth],
    });
    try {
      const server = app.getHttpServer();
      const health = (await request(server).get('/health').expect(503)).body;
      expect(health.info).toEqual({ main: { status: 'up', state: 'up-to-date', applied: 2 } });
      expect(health.error).toEqual({
        analytics: expect.objectContaining({
          status: 'down',
          state: 'failed',
          error: expect.objectContaining({ migration: '001_fails', code: 'MIGRATION_FAILED' }),
        }),
      });
      expect((await request(server).get('/migrations/status/analytics').expect(200)).body).toMatchObject({ database: 'analytics', state: 'failed' });
      expect((await request(server).get('/migrations/status').expect(200)).body).toMatchObject({ state: 'up-to-date' });
    } finally {
      await app.close();
    }
    expect(historyNames(main)).toEqual(['001_init', '002_posts']);
    expect(historyNames(analytics)).toEqual([]);
  });
});

describe('several databases: MigrationHealthIndicator.isHealthy(key, { database })', () => {
  @Injectable()
  class Probe {
    constructor(readonly indicator: MigrationHealthIndicator) {}
  }

  // Each order gives the probe another import's indicator: both must answer for either instance.
  it.each([
    ['the default instance first', () => [defaultImport({ backup: false, failOnError: false }), analyticsImport({ backup: false })]],
    ['instance "analytics" first', () => [analyticsImport({ backup: false }), defaultImport({ backup: false, failOnError: false })]],
  ])('reports on the default instance without database, on the named one with it, and refuses an unknown name (%s)', async (_, imports) => {
    const { app } = await bootInstances(imports(), { migrations: [failing('001_fails'), ...analyticsMigrations()], providers: [Probe] });
    try {
      const { indicator } = app.get(Probe);
      expect(await indicator.isHealthy()).toEqual({ migrations: expect.objectContaining({ status: 'down', state: 'failed' }) });
      expect(await indicator.isHealthy('main', { database: 'default' })).toEqual({ main: expect.objectContaining({ status: 'down', state: 'failed' }) });
      expect(await indicator.isHealthy('analytics', { database: 'analytics' })).toEqual({ analytics: { status: 'up', state: 'up-to-date', applied: 2 } });

      const unknown = await indicator.isHealthy('reports', { database: 'reports' }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(unknown).toBeInstanceOf(InvalidArgumentError);
      expect(unknown).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((unknown as Error).message).toContain('"reports"');
      expect((unknown as Error).message).toMatch(/"default", "analytics"|"analytics", "default"/);
    } finally {
      await app.close();
    }
  });
});

describe('several databases: forRootAsync({ name, useFactory })', () => {
  it('names an instance whose options come from a factory', async () => {
    @Injectable()
    class Config {
      readonly analyticsFile = analytics;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}

    const { app } = await bootInstances(
      [
        defaultImport({ backup: false }),
        AutoMigrationModule.forRootAsync({
          name: 'analytics',
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => ({ database: config.analyticsFile, backup: false as const }),
        }),
      ],
      { migrations: [...mainMigrations(), ...analyticsMigrations()] },
    );
    try {
      expect((await request(app.getHttpServer()).get('/migrations/status/analytics').expect(200)).body).toMatchObject({
        database: 'analytics',
        state: 'up-to-date',
      });
      expect(app.get<AutoMigrationService>(getAutoMigrationServiceToken('analytics')).database).toBe('analytics');
    } finally {
      await app.close();
    }
    expect(historyNames(analytics)).toEqual(['001_init', '002_clicks']);
    expect(historyNames(main)).toEqual(['001_init', '002_posts']);
  });
});

/**
 * Every refusal happens before any database opens: main.db holds data and must stay
 * byte-identical, no other file may appear anywhere in the folder.
 */
describe('several databases: refusals write nothing', () => {
  let before: ReturnType<typeof snapshotTree>;
  beforeEach(() => {
    const db = new BetterSqlite3(main);
    db.exec("CREATE TABLE precious (v TEXT); INSERT INTO precious VALUES ('keep me')");
    db.close();
    before = snapshotTree(dir.path);
  });

  /** Nothing on disk changed, and no instance opened its database (an open logs its target; on an existing file it may write nothing). */
  function expectNothingWritten(logger: CapturingLogger): void {
    expect(snapshotTree(dir.path)).toEqual(before);
    expect(logger.lines.filter((line) => OPENED.test(line))).toEqual([]);
  }

  async function refusedOptions(imports: Parameters<typeof bootInstancesFailure>[0], migrations = [migration('001_a')]): Promise<InvalidOptionsError> {
    const { error, logger } = await bootInstancesFailure(imports, { migrations });
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    expectNothingWritten(logger);
    return error as InvalidOptionsError;
  }

  it('two imports with one name, naming it and both databases', async () => {
    const error = await refusedOptions(
      [AutoMigrationModule.forRoot({ name: 'analytics', database: main }), AutoMigrationModule.forRoot({ name: 'analytics', database: analytics })],
      [migration('001_a', undefined, toAnalytics)],
    );
    expect(error.problems.filter((p) => p.startsWith('name:'))).toHaveLength(1);
    expect(error.message).toContain('imported twice as instance "analytics"');
    expect(error.message).toContain(main);
    expect(error.message).toContain(analytics);
  });

  it("two imports without a name (or one named 'default'), naming the default instance", async () => {
    const error = await refusedOptions([defaultImport(), AutoMigrationModule.forRoot({ name: 'default', database: analytics })]);
    expect(error.message).toContain('imported twice as the default instance');
    expect(error.message).toContain(analytics);
  });

  it.each([
    ['the same path', () => main],
    ['a relative path', () => relative(process.cwd(), main)],
    [
      'a symlink',
      () => {
        const link = dir.file('link.db');
        symlinkSync(main, link);
        before = snapshotTree(dir.path);
        return link;
      },
    ],
  ])('two names on one SQLite file, spelled with %s', async (_, spelling) => {
    const other = spelling();
    // Backups off on one, so that only the database itself clashes.
    const error = await refusedOptions([defaultImport(), AutoMigrationModule.forRoot({ name: 'analytics', database: other, backup: false })]);
    expect(error.problems).toEqual([expect.stringMatching(/^database: the default instance and instance "analytics" both migrate /)]);
  });

  it('two names on one SQLite file, the second from a factory that resolves late: the first waits for it before opening', async () => {
    const late = AutoMigrationModule.forRootAsync({
      name: 'analytics',
      useFactory: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { database: main, backup: false as const };
      },
    });
    const error = await refusedOptions([defaultImport(), late]);
    expect(error.problems).toEqual([expect.stringMatching(/^database: the default instance and instance "analytics" both migrate /)]);
  });

  it('one migrationsDir for two instances', async () => {
    const sql = join(dir.path, 'sql');
    mkdirSync(sql);
    writeFileSync(join(sql, '001_a.sql'), '-- version: 1.0.0\nCREATE TABLE a (id INTEGER);\n');
    before = snapshotTree(dir.path);
    const error = await refusedOptions([defaultImport({ migrationsDir: sql }), analyticsImport({ migrationsDir: sql })], []);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(`migrationsDir: the default instance and instance "analytics" both read SQL files from ${sql}; `);
  });

  it('two files of one name whose backups would go to one folder', async () => {
    const shared = dir.file('backups');
    const elsewhere = dir.file('elsewhere');
    mkdirSync(elsewhere);
    before = snapshotTree(dir.path);
    const error = await refusedOptions([
      defaultImport({ backup: { dir: shared } }),
      AutoMigrationModule.forRoot({ name: 'analytics', database: join(elsewhere, 'main.db'), backup: { dir: shared } }),
    ]);
    expect(error.problems).toEqual([
      expect.stringMatching(/^backup\.dir: the default instance and instance "analytics" write backups named main\.db\.\* into /),
    ]);
  });

  it('a migration of an instance the app does not import, naming the class, the name and the imported instances', async () => {
    const stray = migration('001_report', undefined, { database: 'reports' });
    const { error, logger } = await bootInstancesFailure([defaultImport(), analyticsImport()], { migrations: [migration('001_a'), stray] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error).toMatchObject({ code: 'INVALID_MIGRATION' });
    expect(error.message).toContain(
      'M001_report: belongs to instance "reports", which the app does not import (it imports the default instance, instance "analytics")',
    );
    expectNothingWritten(logger);
  });

  it('a migration without database when only named instances are imported', async () => {
    const { error, logger } = await bootInstancesFailure([analyticsImport()], { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.message).toContain('M001_a: belongs to the default instance, which the app does not import (it imports instance "analytics")');
    expectNothingWritten(logger);
  });

  it('an invalid name, at forRoot() and forRootAsync()', () => {
    for (const call of [
      () => AutoMigrationModule.forRoot({ name: 'bad name', database: analytics }),
      () => AutoMigrationModule.forRootAsync({ name: 'bad name', useFactory: () => ({ database: analytics }) }),
    ]) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('name: "bad name" is not an instance name');
    }
    expect(snapshotTree(dir.path)).toEqual(before);
  });

  it('a name returned by a forRootAsync factory', async () => {
    const error = await refusedOptions([
      defaultImport(),
      AutoMigrationModule.forRootAsync({ useFactory: () => ({ name: 'analytics', database: analytics }) as AutoMigrationModuleOptions }),
    ]);
    expect(error.message).toContain('name: give it to forRootAsync() beside useFactory');
  });
});

/** The backups in `folder` (not their checksum files), sorted. */
function backupsIn(folder: string): string[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.backup'))
    .sort();
}

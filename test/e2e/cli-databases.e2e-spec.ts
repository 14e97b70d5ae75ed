import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { classMigrationSource } from '../../src/auto-migration/cli/scaffold/templates';
import { type CliRun, killStrayChildren, REPO_ROOT, runCli } from '../helpers/child-process';
import { expectExit, expectOneErrorLine } from '../helpers/cli-expect';
import { historyNames, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * `--database NAME` end to end: the CLI runs from source in a child process and boots
 * test/fixtures/cli/databases-app.module.ts, an app with a default SQLite instance (three
 * migrations) and an "analytics" one (two), against real files in a temp folder.
 */

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'databases-app.module.ts');
const DEFAULT_MIGRATIONS = ['001_create_users', '002_create_posts', '003_create_tags'];
const ANALYTICS_MIGRATIONS = ['001_create_events', '002_create_daily_totals'];

const warnings = (run: CliRun) => run.stderr.split('\n').filter((line) => line.startsWith('warning '));

/** The tables of a database file; none when it does not exist (booting opens every instance's database, creating an empty file). */
const tablesOf = (db: string): string[] => (existsSync(db) ? tableNames(db) : []);

/** Applied migrations in order; none while nothing was written. */
const applied = (db: string): string[] => (tablesOf(db).includes('migrations') ? historyNames(db) : []);

const pendingNames = (status: { pending: { name: string }[] }) => status.pending.map((m) => m.name);

describe('nest-auto-migration --database', () => {
  const t = useTempDatabase();
  const analyticsDb = () => join(t.dir.path, 'analytics.db');
  afterEach(killStrayChildren);

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args.includes('--module') ? args : [...args, '--module', FIXTURE], {
      cwd: t.dir.path,
      env: { DATABASE: t.db, ANALYTICS_DATABASE: analyticsDb(), ...env },
    });

  it('up and down work on the instance named, status lists every instance (worst exit code) or the one named', async () => {
    // The classes folder, read as text by status: a class of "analytics" that analytics registers
    // is not reported; one that names analytics with a name only the default instance registers is.
    mkdirSync(join(t.dir.path, 'migrations'));
    writeFileSync(
      join(t.dir.path, 'migrations', '001_create_events.ts'),
      "@Migration({ name: '001_create_events', version: '1.0.0', database: 'analytics' })\nexport class CreateEvents {}\n",
    );
    writeFileSync(
      join(t.dir.path, 'migrations', '002_create_posts.ts'),
      "@Migration({ name: '002_create_posts', version: '1.0.0', database: 'analytics' })\nexport class CreatePosts {}\n",
    );

    const up = await cli(['up', '--database', 'analytics']);
    expectExit(up, 0);
    expect(up.stdout).toMatch(/^Applied 2 migrations:\n {2}001_create_events .*\n {2}002_create_daily_totals /m);
    expect(historyNames(analyticsDb())).toEqual(ANALYTICS_MIGRATIONS);
    expect(tableNames(analyticsDb())).toEqual(expect.arrayContaining(['events', 'daily_totals']));
    // The default instance's database was opened by the boot, and nothing was written to it.
    expect(tablesOf(t.db)).toEqual([]);

    const [text, json, one] = await Promise.all([cli(['status']), cli(['status', '--json']), cli(['status', '--database', 'analytics', '--json'])]);
    // The default instance is pending (1), analytics up to date (0): the worst is 1.
    expectExit(text, 1);
    const sections = text.stdout.split(/^== (\w+) ==$/m);
    expect(sections.filter((_, index) => index % 2 === 1)).toEqual(['default', 'analytics']);
    expect(sections[0]).toBe('');
    expect(sections[2]).toContain('State: pending (3 migrations to apply');
    expect(sections[4]).toContain('State: up-to-date');
    for (const name of ANALYTICS_MIGRATIONS) expect(sections[4]).toMatch(new RegExp(`^  ${name} +1\\.0\\.0 +\\d{4}-`, 'm'));
    expect(warnings(text)).toEqual([
      expect.stringMatching(/^warning UNREGISTERED_MIGRATION: migrations\/002_create_posts\.ts declares @Migration "002_create_posts" \(class CreatePosts\)/),
    ]);

    expectExit(json, 1);
    const all = JSON.parse(json.stdout);
    expect(Object.keys(all)).toEqual(['databases']);
    expect(Object.keys(all.databases)).toEqual(['default', 'analytics']);
    expect(all.databases.default).toMatchObject({ state: 'pending', applied: [] });
    expect(all.databases.default).not.toHaveProperty('database');
    expect(pendingNames(all.databases.default)).toEqual(DEFAULT_MIGRATIONS);
    expect(all.databases.analytics).toMatchObject({ database: 'analytics', state: 'up-to-date', pending: [] });

    expectExit(one, 0);
    const document = JSON.parse(one.stdout);
    expect(Object.keys(document)[0]).toBe('database');
    expect(document).toMatchObject({ database: 'analytics', state: 'up-to-date' });
    expect(document.applied.map((m: { name: string }) => m.name)).toEqual(ANALYTICS_MIGRATIONS);

    const down = await cli(['down', '--database', 'analytics']);
    expectExit(down, 0);
    expect(down.stdout).toMatch(/^ {2}002_create_daily_totals +\d+ ms$/m);
    expect(down.stdout).toMatch(/^Backup written before reverting: analytics\.db\.\d{8}T\d{9}Z\.002_create_daily_totals\.backup$/m);
    expect(historyNames(analyticsDb())).toEqual(ANALYTICS_MIGRATIONS.slice(0, 1));
    expect(tableNames(analyticsDb())).not.toContain('daily_totals');
    expect(tablesOf(t.db)).toEqual([]);
    expect(readdirSync(join(t.dir.path, 'backups')).filter((file) => file.startsWith('app.db'))).toEqual([]);

    // A failed instance makes the whole status fail (2 beats the default instance's 1), its error the one error line.
    const tampered = new BetterSqlite3(analyticsDb());
    tampered.prepare("UPDATE migrations SET checksum = 'edited', source_hash = NULL WHERE name = '001_create_events'").run();
    tampered.close();
    const failed = await cli(['status']);
    expect(expectOneErrorLine(failed, 'CHECKSUM_MISMATCH')).toMatch(/001_create_events.*\(instance "analytics"\)$/);
    expect(failed.stdout).toMatch(/^== default ==\nState: pending /m);
    expect(failed.stdout).toMatch(/^== analytics ==\nState: failed \(CHECKSUM_MISMATCH/m);
    // The next step names the instance: a plain `repair` would accept the default instance's checksums.
    expect(failed.stdout).toContain('`nest-auto-migration repair --database analytics` accepts the current checksums');
    expect(failed.stdout).toMatch(/^== default ==\nState: pending \(\d+ migrations? to apply: run `nest-auto-migration up`\)$/m);
  });

  it('refuses a name the module does not import, or that cannot be a name, before anything runs', async () => {
    const [unknown, shape, noDefault, onlyNamed, help] = await Promise.all([
      cli(['up', '--database', 'nope']),
      cli(['up', '--database', 'no such name']),
      cli(['up', '--module', `${FIXTURE}#AnalyticsOnlyModule`]),
      cli(['status', '--json', '--module', `${FIXTURE}#AnalyticsOnlyModule`]),
      runCli(['down', '--help']),
    ]);
    const line = expectOneErrorLine(unknown, 'UNKNOWN_DATABASE');
    expect(line).toContain('--database nope: ');
    expect(line).toContain('does not import an instance named "nope"; it imports the default instance and instance "analytics"');

    // Refused while parsing: the module was never loaded (it logs while booting).
    expect(expectOneErrorLine(shape, 'USAGE')).toContain('up: --database "no such name" cannot be an instance name');
    expect(shape.stderr.trim().split('\n')).toHaveLength(1);

    expect(expectOneErrorLine(noDefault, 'UNKNOWN_DATABASE')).toContain(
      'does not import the default instance (an AutoMigrationModule.forRoot() without a name); it imports instance "analytics": pass --database analytics',
    );

    // Without the default instance, status without --database lists the instances there are.
    expectExit(onlyNamed, 1);
    expect(Object.keys(JSON.parse(onlyNamed.stdout).databases)).toEqual(['analytics']);

    expectExit(help, 0);
    expect(help.stdout).toMatch(/^ {2}--database NAME +The instance to work on/m);

    // Nothing was applied anywhere.
    expect(applied(t.db)).toEqual([]);
    expect(applied(analyticsDb())).toEqual([]);
  });

  it("create --database writes a class for that instance, numbered after that instance's migrations", async () => {
    writeFileSync(join(t.dir.path, 'package.json'), JSON.stringify({ name: 'app', version: '1.2.0' }));
    const sqlDir = join(t.dir.path, 'analytics-sql');
    mkdirSync(sqlDir);
    writeFileSync(join(sqlDir, '004_hourly_view.sql'), '-- version: 1.0.0\nCREATE VIEW hourly AS SELECT 1;\n');

    // The module registers 001 to 003 for the default instance, 001 and 002 for analytics.
    const created = await cli(['create', 'add rollups', '--database', 'analytics']);
    expectExit(created, 0);
    expect(created.stdout).toContain('Created migrations/003_add_rollups.ts (migration 003_add_rollups, version 1.2.0).');
    const source = readFileSync(join(t.dir.path, 'migrations', '003_add_rollups.ts'), 'utf8');
    expect(source).toContain("@Migration({ name: '003_add_rollups', version: '1.2.0', description: '', database: 'analytics' })");

    // --sql goes to the instance's migrationsDir, read from the module, after the class just written and the SQL files there.
    const sql = await cli(['create', 'add totals index', '--sql', '--database', 'analytics'], { ANALYTICS_SQL_DIR: sqlDir });
    expectExit(sql, 0);
    expect(readdirSync(sqlDir).sort()).toEqual(['004_hourly_view.sql', '005_add_totals_index.down.sql', '005_add_totals_index.sql']);
    expect(sql.stdout).toContain(
      'AutoMigrationModule.forRoot({ name: "analytics" }) reads .sql files from its migrationsDir option: it must point at analytics-sql.',
    );

    // Nothing was instantiated or opened: create reads the module in preview mode.
    expect(existsSync(t.db)).toBe(false);
    expect(existsSync(analyticsDb())).toBe(false);
  });

  it("the class template of each database names a named instance in its decorator, and the default one's not", () => {
    const input = { name: '004_add_rollups', className: 'AddRollups', version: '1.0.0' };
    for (const dialect of ['sqlite', 'postgres'] as const) {
      expect(classMigrationSource({ ...input, database: 'analytics' }, dialect)).toContain(
        "@Migration({ name: '004_add_rollups', version: '1.0.0', description: '', database: 'analytics' })",
      );
      expect(classMigrationSource({ ...input, database: null }, dialect)).not.toContain('database:');
    }
  });
});

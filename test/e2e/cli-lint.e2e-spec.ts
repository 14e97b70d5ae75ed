import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killStrayChildren, REPO_ROOT, runCli } from '../helpers/child-process';
import { expectExit, expectOneErrorLine } from '../helpers/cli-expect';
import { usePgSchema } from '../helpers/postgres';
import { CLEARED_LEASE, historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * `nest-auto-migration lint` and the findings of `up --dry-run`, end to end: the CLI runs from
 * source in a child process and boots one of the modules of test/fixtures/cli/lint-app.module.ts
 * (SQLite files in a temp folder) or lint-pg-app.module.ts (the test run's PostgreSQL server).
 * Each module's first migration creates a table with rows; a test applies it with `up --to`, so
 * that the pending migration changes a table in use.
 */

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'lint-app.module.ts');
const PG_FIXTURE = `${join(REPO_ROOT, 'test', 'fixtures', 'cli', 'lint-pg-app.module.ts')}#AppModule`;

/** The block `lint` prints for the drop of users.name, from its first line to its safe pattern. */
const DROP_NAME_BLOCK = (indent: string, accepted: boolean) =>
  new RegExp(
    [
      `^${indent}error drop-column users\\.name in 002_drop_name${accepted ? ' \\(accepted\\)' : ''}`,
      `${indent} {2}drops column users\\.name[^\\n]*`,
      `${indent} {2}statement: ALTER TABLE users DROP COLUMN name`,
      `${indent} {2}why: its values are lost, and replicas of the previous release [^\\n]+`,
      `${indent} {2}safe: stop reading and writing the column in one release[^\\n]+$`,
    ].join('\\n'),
    'm',
  );

describe('nest-auto-migration lint', () => {
  const t = useTempDatabase();
  afterEach(killStrayChildren);

  const cli = (module: string, args: string[], database = t.db) =>
    runCli([...args, '--module', `${FIXTURE}#${module}`], {
      cwd: t.dir.path,
      env: { DATABASE: database, ANALYTICS_DATABASE: join(t.dir.path, 'analytics.db') },
    });

  /** The module's first migration applied, its second pending. */
  const applyFirst = async (module: string, database = t.db) => expectExit(await cli(module, ['up', '--to', '001_create_users'], database), 0);

  it('an unaccepted drop-column exits 1, as text and as JSON, and the live file stays byte-identical', async () => {
    await applyFirst('DropColumnModule');
    const before = readFileSync(t.db);

    const [text, json] = await Promise.all([cli('DropColumnModule', ['lint']), cli('DropColumnModule', ['lint', '--json'])]);
    expectExit(text, 1);
    expect(text.stdout).toMatch(/^Safety analysis on a temporary copy of the database; the live file was not touched\.$/m);
    expect(text.stdout).toMatch(DROP_NAME_BLOCK('', false));
    expect(text.stdout).toMatch(/^1 finding: 1 error not accepted\.$/m);
    expect(text.stdout).toContain(`allow: ['drop-column'] in @Migration({ ... }), or a "-- allow: drop-column" line in a .sql file's header.`);
    expect(text.stdout).toContain('Side effects of injected services are not rehearsed');
    expect(text.stdout).not.toContain('Not analysed');
    expect(text.stderr).not.toMatch(/^error /m);

    expectExit(json, 1);
    // stdout is the document alone, findings first.
    const report = JSON.parse(json.stdout);
    expect(Object.keys(report)).toEqual(['findings', 'on', 'migrations', 'notRehearsed', 'failed', 'blocking']);
    expect(report).toMatchObject({ on: 'copy', migrations: ['002_drop_name'], notRehearsed: [], failed: null, blocking: true });
    expect(report.findings).toEqual([
      {
        rule: 'drop-column',
        level: 'error',
        migration: '002_drop_name',
        object: 'users.name',
        statement: 'ALTER TABLE users DROP COLUMN name',
        accepted: false,
        message: expect.stringContaining('drops column users.name'),
        why: expect.any(String),
        safePattern: expect.any(String),
        rows: 3,
        lockMs: null,
      },
    ]);

    expect(readFileSync(t.db).equals(before)).toBe(true);
    expect(historyNames(t.db)).toEqual(['001_create_users']);
    expect(inspect(t.db, (db) => db.prepare('SELECT name FROM users ORDER BY id').all())).toEqual([{ name: 'ada' }, { name: 'grace' }, { name: 'edsger' }]);
    expect(inspect(t.db, (db) => db.prepare('SELECT * FROM migration_lock WHERE id = 1').get())).toEqual(CLEARED_LEASE);
  });

  it("the same drop with allow: ['drop-column'] is shown accepted and exits 0", async () => {
    await applyFirst('AllowedDropModule');
    const [text, json] = await Promise.all([cli('AllowedDropModule', ['lint']), cli('AllowedDropModule', ['lint', '--json'])]);
    expectExit(text, 0);
    expect(text.stdout).toMatch(DROP_NAME_BLOCK('', true));
    expect(text.stdout).toMatch(/^1 finding: 1 accepted\.$/m);
    expect(text.stdout).not.toContain('accept it in its migration');

    expectExit(json, 0);
    const report = JSON.parse(json.stdout);
    expect(report.blocking).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ rule: 'drop-column', level: 'error', object: 'users.name', accepted: true })]);
  });

  it('a clean pending migration exits 0 with no findings; nothing pending exits 0', async () => {
    const [text, json] = await Promise.all([cli('CleanModule', ['lint']), cli('CleanModule', ['lint', '--json'])]);
    expectExit(text, 0);
    expect(text.stdout).toMatch(/^No findings in 2 pending migrations\.$/m);
    expect(text.stdout).not.toMatch(/^(error|warning) /m);
    expectExit(json, 0);
    expect(JSON.parse(json.stdout)).toEqual({
      findings: [],
      on: 'copy',
      migrations: ['001_create_users', '002_add_nickname'],
      notRehearsed: [],
      failed: null,
      blocking: false,
    });
    // lint only read the file: nothing was applied.
    expect(tableNames(t.db)).not.toContain('users');

    expectExit(await cli('CleanModule', ['up']), 0);
    const none = await cli('CleanModule', ['lint']);
    expectExit(none, 0);
    expect(none.stdout.trim()).toBe('Nothing is pending; nothing to analyse.');
  });

  it('a migration that fails on the rehearsal exits 2 with its error as the one error line, also with --json', async () => {
    await applyFirst('FailingModule');
    const before = readFileSync(t.db);
    const [text, json] = await Promise.all([cli('FailingModule', ['lint']), cli('FailingModule', ['lint', '--json'])]);

    expect(expectOneErrorLine(text, 'MIGRATION_FAILED')).toMatch(/002_fails failed on purpose.*\(on the rehearsal; the live database is unchanged\)$/);
    expect(text.stdout).toContain('002_fails failed on the rehearsal: the migrations after it were not analysed.');

    expectOneErrorLine(json, 'MIGRATION_FAILED');
    expect(JSON.parse(json.stdout)).toMatchObject({
      findings: [],
      failed: { migration: '002_fails', code: 'MIGRATION_FAILED', message: expect.stringContaining('failed on purpose') },
      blocking: false,
    });

    expect(readFileSync(t.db).equals(before)).toBe(true);
    expect(historyNames(t.db)).toEqual(['001_create_users']);
  });

  it('--database lints that instance; without it, the default one', async () => {
    const analytics = join(t.dir.path, 'analytics.db');
    expectExit(await cli('TwoDatabasesModule', ['up', '--database', 'analytics', '--to', '001_create_events']), 0);
    const before = readFileSync(analytics);

    const [named, json, byDefault] = await Promise.all([
      cli('TwoDatabasesModule', ['lint', '--database', 'analytics']),
      cli('TwoDatabasesModule', ['lint', '--database', 'analytics', '--json']),
      cli('TwoDatabasesModule', ['lint']),
    ]);
    expectExit(named, 1);
    expect(named.stdout).toMatch(/^error drop-column events\.kind in 002_drop_kind$/m);
    expect(named.stdout).not.toContain('users');
    expectExit(json, 1);
    expect(JSON.parse(json.stdout)).toMatchObject({ migrations: ['002_drop_kind'], findings: [{ rule: 'drop-column', object: 'events.kind', rows: 2 }] });

    expectExit(byDefault, 0);
    expect(byDefault.stdout).toMatch(/^No findings in 2 pending migrations\.$/m);

    expect(readFileSync(analytics).equals(before)).toBe(true);
    expect(historyNames(analytics)).toEqual(['001_create_events']);
  });

  it('up --dry-run shows each finding under its migration, after its statements, and still exits 0', async () => {
    await applyFirst('DropColumnModule');
    const before = readFileSync(t.db);
    const dry = await cli('DropColumnModule', ['up', '--dry-run']);
    expectExit(dry, 0);
    expect(dry.stdout).toMatch(
      /^002_drop_name {2}\(1\.1\.0, \d+ ms\)\n {2}Drop users\.name\n {4} *[\d.]+ ms {2}ALTER TABLE users DROP COLUMN name;\n {4} *[\d.]+ ms {2}\(foreign-key check and COMMIT\)\n {2}error drop-column users\.name in 002_drop_name\n/m,
    );
    expect(dry.stdout).toMatch(DROP_NAME_BLOCK(' {2}', false));
    expect(dry.stdout).toMatch(/^1 migration would be applied\.\nSafety analysis: 1 finding: 1 error not accepted \(`nest-auto-migration lint` exits 1 /m);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it('refuses a --long-lock-ms that is not a whole number of 0 or more before booting; --help explains exit codes and acceptance', async () => {
    const [negative, fraction, word, help] = await Promise.all([
      cli('DropColumnModule', ['lint', '--long-lock-ms', '-1']),
      cli('DropColumnModule', ['lint', '--long-lock-ms', '1.5']),
      cli('DropColumnModule', ['lint', '--long-lock-ms', '5s']),
      runCli(['lint', '--help']),
    ]);
    expect(expectOneErrorLine(negative, 'USAGE')).toContain('lint: --long-lock-ms must be a whole number of milliseconds, 0 or more, got -1');
    expect(expectOneErrorLine(fraction, 'USAGE')).toContain('got 1.5');
    expect(expectOneErrorLine(word, 'USAGE')).toContain('got "5s"');
    // Refused while parsing: the module, which logs while booting, was never loaded.
    for (const run of [negative, fraction, word]) expect(run.stderr.trim().split('\n')).toHaveLength(1);

    expectExit(help, 0);
    expect(help.stdout).toContain('Usage: nest-auto-migration lint [--json] [--to NAME] [--long-lock-ms N]');
    expect(help.stdout).toContain("allow: ['drop-column'] in @Migration({ ... })");
    expect(help.stdout).toContain('"-- allow: drop-column"');
    expect(help.stdout).toMatch(/Exit code 0 when every finding is accepted or a warning[\s\S]*1 when an error-level\s+finding is not accepted, 2 when/);
    expect(help.stdout).toMatch(/^ {2}--long-lock-ms N +/m);
  });
});

describe('nest-auto-migration lint on PostgreSQL', () => {
  const pg = usePgSchema('cli_lint');
  afterAll(() => killStrayChildren());

  const cli = (...args: string[]) =>
    runCli([...args, '--module', PG_FIXTURE], { cwd: REPO_ROOT, env: { DATABASE_URL: pg.url, DATABASE_SCHEMA: pg.schema, DATABASE: undefined } });

  it('CREATE INDEX without CONCURRENTLY on a table in use: index-not-concurrent, exit 1, nothing kept; a transaction: false migration listed as not analysed', async () => {
    expectExit(await cli('up', '--to', '001_create_items'), 0);
    const [text, json] = await Promise.all([cli('lint'), cli('lint', '--json')]);

    expectExit(text, 1);
    expect(text.stdout).toContain('Safety analysis in a transaction of the live database that was rolled back: nothing was kept.');
    expect(text.stdout).toMatch(
      /^error index-not-concurrent items_label in 002_index_items_label\n {2}builds items_label on items \(50 rows\) without CONCURRENTLY/m,
    );
    expect(text.stdout).toMatch(/^ {2}statement: CREATE INDEX items_label ON items \(label\)$/m);
    expect(text.stdout).toMatch(/^ {2}safe: CREATE INDEX CONCURRENTLY in a migration of its own/m);
    expect(text.stdout).toContain('Not analysed: 003_index_items_id_label (transaction: false: it runs outside a transaction, which cannot be rolled back).');

    expectExit(json, 1);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      on: 'rolled-back transaction',
      migrations: ['002_index_items_label', '003_index_items_id_label'],
      notRehearsed: ['003_index_items_id_label'],
      failed: null,
      blocking: true,
    });
    expect(report.findings).toEqual([
      expect.objectContaining({ rule: 'index-not-concurrent', level: 'error', migration: '002_index_items_label', object: 'items_label', accepted: false }),
    ]);

    const indexes = await pg.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [pg.schema, 'items']);
    expect(indexes.rows.map((r) => r.indexname).sort()).toEqual(['items_pkey']);
    expect((await pg.query<{ name: string }>(`SELECT name FROM ${pg.schema}.migrations ORDER BY id`)).rows.map((r) => r.name)).toEqual(['001_create_items']);
  });
});

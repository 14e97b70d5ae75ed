import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type CliRun, REPO_ROOT, runCli } from '../helpers/child-process';
import { historyNames, tableNames } from '../helpers/sqlite';
import { tempDir } from '../helpers/temp-dir';

/*
 * `nest-auto-migration create`: scaffolding only (no Nest boot, no database), in a child process
 * from source, in temp folders. The last test boots what it scaffolded, to prove the skeletons
 * are migrations the library accepts.
 */

jest.setTimeout(120_000);

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

/** Exit 2 with one line `error CODE: ...` on stderr; returns the line. */
function expectError(run: CliRun, code: string): string {
  expectExit(run, 2);
  const lines = run.stderr.trim().split('\n');
  if (lines.length !== 1 || !lines[0].startsWith(`error ${code}: `)) throw new Error(`expected one line "error ${code}: ..."\n${run.describe()}`);
  return lines[0];
}

/** A project folder: package.json (unless `pkg` is null) and files, relative paths to contents. */
function project(pkg: Record<string, unknown> | null, files: Record<string, string> = {}): string {
  const dir = tempDir('auto-migration-create-');
  dirs.push(dir);
  if (pkg) writeFileSync(dir.file('package.json'), JSON.stringify(pkg));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir.path, path, '..'), { recursive: true });
    writeFileSync(join(dir.path, path), content);
  }
  return dir.path;
}
const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

const create = (cwd: string, ...args: string[]) => runCli(['create', ...args], { cwd });

describe('nest-auto-migration create', () => {
  it('writes a @Migration class numbered 001 in an empty folder, with the version of package.json, and says where to list it', async () => {
    const configured = project({ name: 'app', version: '1.4.0', nestAutoMigration: { classesDir: 'src/migrations', sqlDir: 'sql' } });
    const plain = project({ name: 'app', version: '2.0.0-rc.1' });
    const [run, defaultDir] = await Promise.all([create(configured, 'AddTags'), create(plain, 'create-users')]);
    // A second `create AddTags` in the same folder: refused, whatever the number would be.
    const again = await create(configured, 'add tags');
    expect(expectError(again, 'CREATE_REFUSED')).toContain(`${join(configured, 'src', 'migrations', '001_add_tags.ts')} already has the name "add_tags"`);
    expect(readdirSync(join(configured, 'src', 'migrations'))).toEqual(['001_add_tags.ts']);

    expectExit(run, 0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('Created src/migrations/001_add_tags.ts (migration 001_add_tags, version 1.4.0).');
    expect(run.stdout).toContain('list AddTags in the providers of a module of your app');
    expect(readFileSync(join(configured, 'src', 'migrations', '001_add_tags.ts'), 'utf8')).toBe(
      [
        "import type { Database } from 'better-sqlite3';",
        "import { Migration, MigrationInterface } from 'nestjs-auto-migration';",
        '',
        "@Migration({ name: '001_add_tags', version: '1.4.0', description: '' })",
        'export class AddTags implements MigrationInterface {',
        '  up(db: Database): void {',
        "    // db.exec('CREATE TABLE ...');",
        '  }',
        '',
        '  down(db: Database): void {',
        "    // db.exec('DROP TABLE ...');",
        '  }',
        '}',
        '',
      ].join('\n'),
    );

    // Without --dir or a configured folder: ./migrations.
    expectExit(defaultDir, 0);
    expect(readdirSync(join(plain, 'migrations'))).toEqual(['001_create_users.ts']);
    expect(readFileSync(join(plain, 'migrations', '001_create_users.ts'), 'utf8')).toContain(
      "@Migration({ name: '001_create_users', version: '2.0.0-rc.1', description: '' })\nexport class CreateUsers implements",
    );
  });

  it('continues the numbering at the width the folder uses, or with a UTC timestamp in a timestamp folder', async () => {
    const three = project({ version: '1.0.0' }, { 'db/001_create_users.ts': '', 'db/002_create_posts.ts': '', 'db/migrations.module.ts': '' });
    const four = project({ version: '1.0.0' }, { 'migrations/0009_a.ts': '', 'migrations/0010_b.sql': '', 'migrations/0010_b.down.sql': '' });
    const stamps = project({ version: '1.0.0' }, { 'migrations/20240101120000_init.ts': '', 'migrations/20240101120000_init.d.ts': '' });
    const before = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const [byDir, byWidth, byTime] = await Promise.all([
      create(three, 'add tags', '--dir', 'db'),
      create(four, 'HTTPCacheEntries'),
      create(stamps, 'add_tags'),
    ]);
    const after = new Date().toISOString().replace(/\D/g, '').slice(0, 14);

    expectExit(byDir, 0);
    expect(readdirSync(join(three, 'db')).sort()).toEqual(['001_create_users.ts', '002_create_posts.ts', '003_add_tags.ts', 'migrations.module.ts']);
    expectExit(byWidth, 0);
    expect(readdirSync(join(four, 'migrations'))).toContain('0011_http_cache_entries.ts');
    expect(readFileSync(join(four, 'migrations', '0011_http_cache_entries.ts'), 'utf8')).toContain('export class HttpCacheEntries implements');

    expectExit(byTime, 0);
    const created = readdirSync(join(stamps, 'migrations')).find((f) => f.endsWith('_add_tags.ts'));
    const stamp = /^(\d{14})_add_tags\.ts$/.exec(created ?? '')?.[1];
    expect(stamp).toBeDefined();
    expect(stamp! >= before && stamp! <= after).toBe(true);
  });

  it('--sql writes NNN_name.sql with the version header and NNN_name.down.sql in sqlDir, and says migrationsDir must point there', async () => {
    const cwd = project(
      { version: '1.4.0', nestAutoMigration: { sqlDir: 'sql' } },
      { 'sql/001_init.sql': '-- version: 1.0.0\nCREATE TABLE t (id INTEGER);\n' },
    );
    const unconfigured = project({ version: '1.4.0', nestAutoMigration: { classesDir: 'src/migrations' } });
    const renamed = project({ version: '1.4.0', nestAutoMigration: { migrationsDir: 'migrations' } });
    const [run, noFolder, oldKey] = await Promise.all([create(cwd, 'add notes', '--sql'), create(unconfigured, 'add notes', '--sql'), create(renamed, 'x')]);
    expectExit(run, 0);
    expect(run.stdout).toContain('Created sql/002_add_notes.sql and sql/002_add_notes.down.sql (migration 002_add_notes, version 1.4.0).');
    expect(run.stdout).toContain('migrationsDir option: it must point at sql.');
    const up = readFileSync(join(cwd, 'sql', '002_add_notes.sql'), 'utf8');
    expect(up.split('\n').slice(0, 2)).toEqual(['-- version: 1.4.0', '-- description:']);
    expect(up).toContain('-- transaction: false');
    expect(readFileSync(join(cwd, 'sql', '002_add_notes.down.sql'), 'utf8')).toMatch(/^-- Reverts the migration/);

    // SQL files run only from the module's migrationsDir: no guessed folder.
    expect(expectError(noFolder, 'USAGE')).toContain('create --sql: no folder for SQL files: pass --dir DIR, or set "nestAutoMigration": { "sqlDir": "..." }');
    expect(readdirSync(unconfigured)).toEqual(['package.json']);
    expect(expectError(oldKey, 'CONFIG_INVALID')).toContain('"migrationsDir" is replaced by "classesDir" (where create writes classes) and "sqlDir"');
  });

  it('refuses to overwrite, to number a folder of mixed widths or a used-up width, and a name with a prefix; says when the version is missing', async () => {
    const orphan = project({ version: '1.0.0' }, { 'migrations/001_a.sql': 'x', 'migrations/002_b.sql': 'x', 'migrations/003_add_tags.down.sql': 'x' });
    const mixed = project({ version: '1.0.0' }, { 'migrations/2_a.ts': '', 'migrations/010_b.ts': '' });
    const full = project({ version: '1.0.0' }, { 'migrations/999_a.ts': '' });
    const noVersion = project({ name: 'app' });
    const noPackage = project(null);
    const clash = project({ version: '1.0.0' }, { 'migrations/001_misc.ts': 'export class AddTags {}\n' });
    const [overwrite, widths, usedUp, prefixed, unversioned, unpackaged, sameClass] = await Promise.all([
      create(orphan, 'add_tags', '--sql', '--dir', 'migrations'),
      create(mixed, 'c'),
      create(full, 'c'),
      create(orphan, '004_add_tags'),
      create(noVersion, 'first'),
      create(noPackage, 'first', '--sql', '--dir', 'migrations'),
      create(clash, 'AddTags'),
    ]);

    expect(expectError(overwrite, 'CREATE_REFUSED')).toContain(`${join(orphan, 'migrations', '003_add_tags.down.sql')} already exists; nothing was written`);
    expect(readdirSync(join(orphan, 'migrations')).sort()).toEqual(['001_a.sql', '002_b.sql', '003_add_tags.down.sql']);
    expect(readFileSync(join(orphan, 'migrations', '003_add_tags.down.sql'), 'utf8')).toBe('x');
    expect(expectError(widths, 'CREATE_REFUSED')).toContain('the folder mixes prefix widths (2_a.ts, 010_b.ts)');
    expect(expectError(usedUp, 'CREATE_REFUSED')).toContain('3-digit numbering is used up (newest 999)');
    expect(expectError(prefixed, 'USAGE')).toContain('create: give the name without a prefix ("add_tags")');
    expect(expectError(sameClass, 'CREATE_REFUSED')).toContain(`${join(clash, 'migrations', '001_misc.ts')} already declares a class AddTags`);
    expect(readdirSync(join(clash, 'migrations'))).toEqual(['001_misc.ts']);
    for (const [dir, count] of [
      [mixed, 2],
      [full, 1],
    ] as const)
      expect(readdirSync(join(dir, 'migrations'))).toHaveLength(count);

    expectExit(unversioned, 0);
    expect(unversioned.stdout).toContain('(migration 001_first, version 0.0.0)');
    expect(unversioned.stdout).toContain('package.json has no "version": used 0.0.0');
    expectExit(unpackaged, 0);
    expect(unpackaged.stdout).toContain(`No package.json in ${noPackage}: used version 0.0.0`);
    expect(readFileSync(join(noPackage, 'migrations', '001_first.sql'), 'utf8')).toMatch(/^-- version: 0\.0\.0\n/);
  });

  it('numbers after the classes folder and the SQL folder together, at the width and in the timestamps they use', async () => {
    // The SQL folder is ahead of the classes folder, or sets the width, or uses timestamps.
    const ahead = project(
      { version: '1.0.0', nestAutoMigration: { classesDir: 'src/migrations', sqlDir: 'sql' } },
      { 'src/migrations/004_add_users.ts': '', 'sql/005_order_audit.sql': 'x', 'sql/005_order_audit.down.sql': 'x' },
    );
    const wide = project({ version: '1.0.0', nestAutoMigration: { sqlDir: 'sql' } }, { 'sql/0012_a.sql': 'x' });
    const stamped = project(
      { version: '1.0.0', nestAutoMigration: { classesDir: 'db', sqlDir: 'sql' } },
      { 'db/20240101120000_init.ts': '', 'sql/20240301000000_b.sql': 'x' },
    );
    const mixed = project({ version: '1.0.0', nestAutoMigration: { sqlDir: 'sql' } }, { 'migrations/001_a.ts': '', 'sql/0002_b.sql': 'x' });
    const [byWidth, byTime, widths] = await Promise.all([create(wide, 'add_tags'), create(stamped, 'add_tags'), create(mixed, 'c')]);
    // One project's creates one after another: each sees the files the one before it wrote.
    const cls = await create(ahead, 'add tags');
    const sql = await create(ahead, 'add notes', '--sql');
    const byDir = await create(ahead, 'add views', '--dir', 'other');
    for (const run of [cls, sql, byDir, byWidth, byTime]) expectExit(run, 0);
    expect(readdirSync(join(ahead, 'src', 'migrations')).find((f) => f.endsWith('_add_tags.ts'))).toBe('006_add_tags.ts');
    expect(readdirSync(join(ahead, 'sql')).find((f) => f.endsWith('_add_notes.sql'))).toBe('007_add_notes.sql');
    expect(readdirSync(join(ahead, 'other')).find((f) => f.endsWith('_add_views.ts'))).toBe('008_add_views.ts');
    expect(readdirSync(join(wide, 'migrations'))).toEqual(['0013_add_tags.ts']);
    expect(readdirSync(join(stamped, 'db')).find((f) => f.endsWith('_add_tags.ts')) ?? '').toMatch(/^\d{14}_add_tags\.ts$/);
    expect(readdirSync(join(stamped, 'db')).find((f) => f.endsWith('_add_tags.ts'))! > '20240301000000').toBe(true);
    expect(expectError(widths, 'CREATE_REFUSED')).toContain(`the migrations mix prefix widths (001_a.ts in migrations, 0002_b.sql in sql)`);

    // A name taken in the other folder is refused as in the same folder.
    const again = await create(ahead, 'order audit');
    expect(expectError(again, 'CREATE_REFUSED')).toContain(`${join(ahead, 'sql', '005_order_audit.sql')} already has the name "order_audit"`);
  });

  it('numbers after the migrations the module registers from elsewhere, so that the app starts with the new migration (not OUT_OF_ORDER_MIGRATION)', async () => {
    const app = join(REPO_ROOT, '.tmp', `cli-create-${randomBytes(6).toString('hex')}`);
    const db = join(app, 'app.db');
    const moduleSource = (extra: { import: string; provider: string } | null) =>
      [
        "import { Module } from '@nestjs/common';",
        "import type { Database } from 'better-sqlite3';",
        "import { AutoMigrationModule, Migration, MigrationInterface } from 'nestjs-auto-migration';",
        "import { AddUsers } from './src/migrations/004_add_users';",
        ...(extra ? [extra.import] : []),
        '',
        '/** Lives beside the module, not in the migrations folders. */',
        "@Migration({ name: '006_seed_roles', version: '1.0.0' })",
        'export class SeedRoles implements MigrationInterface {',
        '  up(db: Database): void {',
        "    db.exec('CREATE TABLE roles (id INTEGER PRIMARY KEY)');",
        '  }',
        '}',
        '',
        '@Module({',
        "  imports: [AutoMigrationModule.forRoot({ database: 'app.db', migrationsDir: 'sql', statusController: false })],",
        `  providers: [AddUsers, SeedRoles${extra ? `, ${extra.provider}` : ''}],`,
        '})',
        'export class AppModule {}',
        '',
      ].join('\n');
    mkdirSync(join(app, 'src', 'migrations'), { recursive: true });
    mkdirSync(join(app, 'sql'));
    try {
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', nestAutoMigration: { classesDir: 'src/migrations', sqlDir: 'sql', module: 'app.module.ts' } }),
      );
      writeFileSync(
        join(app, 'src', 'migrations', '004_add_users.ts'),
        "import { Migration } from 'nestjs-auto-migration';\n\n@Migration({ name: '004_add_users', version: '1.0.0' })\nexport class AddUsers {\n  up(db: { exec(sql: string): void }): void {\n    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');\n  }\n}\n",
      );
      writeFileSync(join(app, 'sql', '005_order_audit.sql'), '-- version: 1.0.0\nCREATE TABLE order_audit (id INTEGER PRIMARY KEY);\n');
      writeFileSync(join(app, 'app.module.ts'), moduleSource(null));
      expectExit(await runCli(['up'], { cwd: app, paths: true }), 0);
      expect(historyNames(db)).toEqual(['004_add_users', '005_order_audit', '006_seed_roles']);

      const created = await runCli(['create', 'add tags'], { cwd: app, paths: true });
      expectExit(created, 0);
      expect(created.stdout).toContain('Created src/migrations/007_add_tags.ts (migration 007_add_tags, version 1.0.0).');
      const file = join(app, 'src', 'migrations', '007_add_tags.ts');
      writeFileSync(file, readFileSync(file, 'utf8').replace("// db.exec('CREATE TABLE ...');", "db.exec('CREATE TABLE tags (id INTEGER PRIMARY KEY)');"));
      writeFileSync(join(app, 'app.module.ts'), moduleSource({ import: "import { AddTags } from './src/migrations/007_add_tags';", provider: 'AddTags' }));

      const up = await runCli(['up'], { cwd: app, paths: true });
      expectExit(up, 0);
      expect(historyNames(db)).toEqual(['004_add_users', '005_order_audit', '006_seed_roles', '007_add_tags']);
      expect(tableNames(db)).toContain('tags');
    } finally {
      rmSync(app, { recursive: true, force: true });
      try {
        rmdirSync(join(REPO_ROOT, '.tmp'));
      } catch {
        /* not empty, or already gone */
      }
    }
  });

  it('scaffolds migrations the library runs: a class and SQL files, filled in, go up and down', async () => {
    // Inside the repo (gitignored .tmp/), so that the app module resolves @nestjs/* from its node_modules.
    const app = join(REPO_ROOT, '.tmp', `cli-create-${randomBytes(6).toString('hex')}`);
    const db = join(app, 'app.db');
    mkdirSync(app, { recursive: true });
    try {
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', version: '3.1.0', nestAutoMigration: { classesDir: 'migrations', sqlDir: 'migrations', module: 'app.module.ts' } }),
      );
      expectExit(await create(app, 'CreateTags'), 0);
      expectExit(await create(app, 'create notes', '--sql'), 0);

      const cls = join(app, 'migrations', '001_create_tags.ts');
      writeFileSync(cls, readFileSync(cls, 'utf8').replace("// db.exec('CREATE TABLE ...');", "db.exec('CREATE TABLE tags (id INTEGER PRIMARY KEY)');"));
      writeFileSync(
        join(app, 'migrations', '002_create_notes.sql'),
        `${readFileSync(join(app, 'migrations', '002_create_notes.sql'), 'utf8')}CREATE TABLE notes (id INTEGER PRIMARY KEY);\n`,
      );
      writeFileSync(
        join(app, 'migrations', '002_create_notes.down.sql'),
        `${readFileSync(join(app, 'migrations', '002_create_notes.down.sql'), 'utf8')}DROP TABLE notes;\n`,
      );
      writeFileSync(
        join(app, 'app.module.ts'),
        [
          "import { Module } from '@nestjs/common';",
          "import { AutoMigrationModule } from 'nestjs-auto-migration';",
          "import { CreateTags } from './migrations/001_create_tags';",
          '',
          '@Module({',
          "  imports: [AutoMigrationModule.forRoot({ database: 'app.db', migrationsDir: 'migrations', statusController: false })],",
          '  providers: [CreateTags],',
          '})',
          'export class AppModule {}',
          '',
        ].join('\n'),
      );

      const up = await runCli(['up'], { cwd: app, paths: true });
      expectExit(up, 0);
      expect(historyNames(db)).toEqual(['001_create_tags', '002_create_notes']);
      expect(tableNames(db)).toEqual(expect.arrayContaining(['notes', 'tags']));

      const down = await runCli(['down'], { cwd: app, paths: true });
      expectExit(down, 0);
      expect(historyNames(db)).toEqual(['001_create_tags']);
      expect(tableNames(db)).not.toContain('notes');
    } finally {
      rmSync(app, { recursive: true, force: true });
      try {
        rmdirSync(join(REPO_ROOT, '.tmp'));
      } catch {
        /* not empty, or already gone */
      }
    }
  });
});

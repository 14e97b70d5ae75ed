import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type CliRun, REPO_ROOT, runCli } from '../helpers/child-process';

/*
 * `status` warns about files of the classes folder whose @Migration() classes no module
 * registers: a real app module (in the repo's gitignored .tmp/, so that it resolves @nestjs/*),
 * booted by the command line from source.
 */

jest.setTimeout(120_000);

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

const warnings = (run: CliRun) => run.stderr.split('\n').filter((line) => line.startsWith('warning '));

const migration = (name: string, className: string) =>
  [
    "import { Migration } from 'nestjs-auto-migration';",
    '',
    `@Migration({ name: '${name}', version: '1.0.0' })`,
    `export class ${className} {`,
    '  up(db: { exec(sql: string): void }): void {',
    `    db.exec('CREATE TABLE t_${className.toLowerCase()} (id INTEGER)');`,
    '  }',
    '}',
    '',
  ].join('\n');

describe('status and @Migration classes no module registers', () => {
  const app = join(REPO_ROOT, '.tmp', `cli-unregistered-${randomBytes(6).toString('hex')}`);
  afterEach(() => {
    rmSync(app, { recursive: true, force: true });
    try {
      rmdirSync(join(REPO_ROOT, '.tmp'));
    } catch {
      /* not empty, or already gone */
    }
  });

  it('warns on stderr, one line per file naming the file, the class and what to do; the exit code and the JSON stay as they were', async () => {
    mkdirSync(join(app, 'src', 'migrations'), { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', nestAutoMigration: { classesDir: 'src/migrations', module: 'app.module.ts' } }),
    );
    writeFileSync(join(app, 'src', 'migrations', '001_create_users.ts'), migration('001_create_users', 'CreateUsers'));
    writeFileSync(join(app, 'src', 'migrations', '002_forgotten.ts'), migration('002_forgotten', 'Forgotten'));
    // As tsc compiles a decorated class (a dist folder used as classesDir).
    writeFileSync(
      join(app, 'src', 'migrations', '003_compiled.js'),
      [
        '"use strict";',
        'let Compiled = class Compiled {',
        "    up(db) { db.exec('CREATE TABLE compiled (id INTEGER)'); }",
        '};',
        'exports.Compiled = Compiled;',
        'exports.Compiled = Compiled = __decorate([',
        '    (0, common_1.Injectable)(),',
        "    (0, nestjs_auto_migration_1.Migration)({ name: '003_compiled', version: '1.0.0' }),",
        '    __metadata("design:paramtypes", [Object])',
        '], Compiled);',
        '',
      ].join('\n'),
    );
    // Not declarations: a commented-out decorator, and a helper.
    writeFileSync(join(app, 'src', 'migrations', '004_draft.ts'), "// @Migration({ name: '004_draft', version: '1.0.0' })\nexport const draft = 1;\n");
    writeFileSync(join(app, 'src', 'migrations', 'helpers.ts'), 'export const now = () => new Date();\n');
    writeFileSync(
      join(app, 'app.module.ts'),
      [
        "import { Module } from '@nestjs/common';",
        "import { AutoMigrationModule } from 'nestjs-auto-migration';",
        "import { CreateUsers } from './src/migrations/001_create_users';",
        '',
        '@Module({',
        "  imports: [AutoMigrationModule.forRoot({ database: 'app.db', statusController: false })],",
        '  providers: [CreateUsers],',
        '})',
        'export class AppModule {}',
        '',
      ].join('\n'),
    );

    const pending = await runCli(['status', '--json'], { cwd: app, paths: true });
    expectExit(pending, 1);
    expect(JSON.parse(pending.stdout).pending.map((m: { name: string }) => m.name)).toEqual(['001_create_users']);
    expect(warnings(pending)).toEqual([
      `warning UNREGISTERED_MIGRATION: ${join('src', 'migrations', '002_forgotten.ts')} declares @Migration "002_forgotten" (class Forgotten), which no module registers, so it never runs: add Forgotten to the providers of a module of your app (e.g. your MigrationsModule), or delete the file`,
      `warning UNREGISTERED_MIGRATION: ${join('src', 'migrations', '003_compiled.js')} declares @Migration "003_compiled" (class Compiled), which no module registers, so it never runs: add Compiled to the providers of a module of your app (e.g. your MigrationsModule), or delete the file`,
    ]);

    expectExit(await runCli(['up'], { cwd: app, paths: true }), 0);
    const upToDate = await runCli(['status'], { cwd: app, paths: true });
    expectExit(upToDate, 0);
    expect(upToDate.stdout).not.toContain('warning');
    expect(warnings(upToDate)).toHaveLength(2);
  });
});

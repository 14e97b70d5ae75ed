import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliRun, REPO_ROOT, runCli } from '../helpers/child-process';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * Flags every command shares (--module, --verbose, --help), `create --module` reading the
 * module's migrations without starting it, and negative numbers given to numeric flags. Child
 * processes of the command line from source, in temp folders.
 */

jest.setTimeout(120_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'app.module.ts');
const COMMANDS = ['status', 'up', 'down', 'create', 'resolve', 'repair', 'backup', 'restore', 'archive', 'unlock', 'baseline', 'lint'];

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

/** Exit 2 with one line `error CODE: ...` on stderr; returns the line. */
function expectOneErrorLine(run: CliRun, code: string): string {
  expectExit(run, 2);
  const lines = run.stderr.trim().split('\n');
  if (lines.length !== 1 || !lines[0].startsWith(`error ${code}: `)) throw new Error(`expected one line "error ${code}: ..."\n${run.describe()}`);
  return lines[0];
}

describe('flags every command shares', () => {
  const t = useTempDatabase();

  it('every command, create included, lists and accepts --module, --verbose and --help', async () => {
    const helps = await Promise.all(COMMANDS.map((name) => runCli([name, '--help'])));
    helps.forEach((run, index) => {
      expectExit(run, 0);
      for (const flag of [/^ {2}--module FILE\[#Export\] +\S/m, /^ {2}--verbose +\S/m, /^ {2}-h, --help +Show this help\.$/m]) {
        if (!flag.test(run.stdout)) throw new Error(`${COMMANDS[index]} --help lacks ${flag}\n${run.describe()}`);
      }
    });
  });

  it('create --module numbers after the migrations the module registers and its migrationsDir, without starting it or opening the database', async () => {
    const sql = join(t.dir.path, 'sql');
    mkdirSync(sql);
    writeFileSync(join(sql, '007_report.sql'), '-- version: 1.0.0\nCREATE TABLE report (id INTEGER);\n');
    const env = { DATABASE: t.db };
    const [plain, withSql, verbose] = await Promise.all([
      runCli(['create', 'add views', '--module', FIXTURE, '--dir', 'a'], { cwd: t.dir.path, env }),
      runCli(['create', 'add views', '--module', FIXTURE, '--dir', 'b'], { cwd: t.dir.path, env: { ...env, SQL_DIR: sql } }),
      runCli(['create', 'add views', '--dir', 'c', '--verbose', '--module', FIXTURE], { cwd: t.dir.path, env }),
    ]);
    expectExit(plain, 0);
    expectExit(withSql, 0);
    expectExit(verbose, 0);
    // The fixture registers 001 to 005; with SQL_DIR its migrationsDir holds 007.
    expect(readdirSync(join(t.dir.path, 'a'))).toEqual(['006_add_views.ts']);
    expect(readdirSync(join(t.dir.path, 'b'))).toEqual(['008_add_views.ts']);
    expect(readdirSync(join(t.dir.path, 'c'))).toEqual(['006_add_views.ts']);
    // Nothing was instantiated: the fixture's provider would print while constructed, the module would open the database.
    for (const run of [plain, withSql]) {
      expect(run.stdout).not.toContain('TagSource');
      expect(run.stderr).toBe('');
    }
    expect(existsSync(t.db)).toBe(false);
    expect(readdirSync(t.dir.path).sort()).toEqual(['a', 'b', 'c', 'sql']);
  });

  it('create with a module that cannot be read warns and numbers after the folders', async () => {
    const run = await runCli(['create', 'add views', '--module', 'dist/missing.module.js'], { cwd: t.dir.path });
    expectExit(run, 0);
    expect(readdirSync(join(t.dir.path, 'migrations'))).toEqual(['001_add_views.ts']);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^warning MODULE_NOT_READ: cannot find the module file .*missing\.module\.js .*; the new migration is numbered after the migrations folders only/,
      ),
    ]);
  });

  it('a negative number is a value of the flag, refused with what the flag takes', async () => {
    const runs = await Promise.all(
      [
        ['down', '--steps', '-1'],
        ['down', '--steps=-1'],
        ['down', '--steps', '-2.5'],
        ['down', '--steps', 'two'],
        ['archive', '--older-than', '-5m'],
        ['archive', '--older-than', '5'],
        ['up', '--to', '--dry-run'],
      ].map((args) => runCli([...args, '--module', FIXTURE], { cwd: t.dir.path, env: { DATABASE: t.db } })),
    );
    expect(runs.map((run) => expectOneErrorLine(run, 'USAGE'))).toEqual([
      expect.stringContaining('down: --steps must be a whole number of 1 or more, got -1. Run `nest-auto-migration down --help`'),
      expect.stringContaining('down: --steps must be a whole number of 1 or more, got -1.'),
      expect.stringContaining('down: --steps must be a whole number of 1 or more, got -2.5.'),
      expect.stringContaining('down: --steps must be a whole number of 1 or more, got "two".'),
      expect.stringContaining('archive: --older-than must not be negative (a number with a unit: 0s, 90s, 30m, 12h, 365d), got -5m.'),
      expect.stringContaining('archive: --older-than must be a number with a unit (0s, 90s, 30m, 12h, 365d), got 5.'),
      // A flag after a flag that takes a value is still a missing value.
      expect.stringContaining('up: --to needs a value'),
    ]);
    expect(existsSync(t.db)).toBe(false);
  });
});

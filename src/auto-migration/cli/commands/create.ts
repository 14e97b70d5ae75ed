import { isAbsolute, relative, resolve } from 'node:path';
import { isSemver } from '../../discovery/migration-validator';
import { CONFIG_FIELD, readProject } from '../cli-config';
import { usageError } from '../cli-error';
import type { LocalCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { scaffoldMigration } from '../scaffold/scaffold';

/** Where `create` writes a class when neither `--dir` nor package.json says. */
export const DEFAULT_CLASSES_DIR = 'migrations';
/** The version written when the application's package.json has none. */
const FALLBACK_VERSION = '0.0.0';

/** `create NAME [--sql] [--dir DIR]`. */
export const createCommand: LocalCommand = {
  kind: 'local',
  name: 'create',
  summary: 'Scaffold the next migration file (a class, or --sql files).',
  synopsis: 'create NAME [--sql] [--dir DIR]',
  description: [
    'Writes the next migration into its folder: the next number at the width the folder',
    'uses (001 in an empty folder), or a UTC yyyymmddhhmmss prefix if it uses timestamps; NAME',
    'snake-cased; the version of the application in ./package.json. A @Migration() class with up()',
    'and down(), or with --sql NNN_name.sql and NNN_name.down.sql. Never overwrites a file, and refuses',
    'a name the folder already has.',
    'Works on files only: it boots nothing and opens no database.',
  ].join('\n'),
  flags: {
    sql: { type: 'boolean', description: 'Write NNN_name.sql and NNN_name.down.sql instead of a class.' },
    dir: {
      type: 'string',
      value: 'DIR',
      description:
        `Folder to write in. Default for a class: "${CONFIG_FIELD}.classesDir" in package.json, else ${DEFAULT_CLASSES_DIR}; ` +
        `for --sql: "${CONFIG_FIELD}.sqlDir" (the module's migrationsDir), which must then be set.`,
    },
  },
  positionals: ['NAME'],
  async run(args, output, cwd) {
    const project = readProject(cwd);
    const sql = args.flag('sql');
    const folder = args.string('dir') ?? (sql ? project.config.sqlDir : (project.config.classesDir ?? DEFAULT_CLASSES_DIR));
    if (folder === undefined) {
      // SQL files only run from the folder the module reads (its migrationsDir option); a guess
      // would leave a migration that never runs.
      throw usageError(
        `create --sql: no folder for SQL files: pass --dir DIR, or set "${CONFIG_FIELD}": { "sqlDir": "..." } in package.json ` +
          "to the folder of the module's migrationsDir option",
        'create',
      );
    }
    const dir = resolve(cwd, folder);
    const versionValid = project.version !== null && isSemver(project.version);
    const version = versionValid ? project.version! : FALLBACK_VERSION;

    const result = scaffoldMigration({ dir, name: args.positionals[0], sql, version, now: new Date() });
    const shown = (path: string) => {
      const rel = relative(cwd, path);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
    };

    output.line(`Created ${result.files.map(shown).join(' and ')} (migration ${result.name}, version ${version}).`);
    if (!versionValid) {
      output.line(
        project.packageJson === null
          ? `No package.json in ${cwd}: used version ${FALLBACK_VERSION}; set the application's version in the migration.`
          : project.version === null
            ? `package.json has no "version": used ${FALLBACK_VERSION}; set the application's version in the migration.`
            : `package.json's version "${project.version}" is not a semantic version: used ${FALLBACK_VERSION}; set it in the migration.`,
      );
    }
    if (result.className) {
      output.line(`Next: write up() and down(), then list ${result.className} in the providers of a module of your app (e.g. your MigrationsModule).`);
    } else {
      output.line('Next: write the SQL (a file without SQL is refused at start-up); delete the .down.sql file if the migration cannot be reverted.');
      output.line(`The module reads .sql files from its migrationsDir option: it must point at ${shown(dir)}.`);
    }
    return ExitCode.Ok;
  },
};

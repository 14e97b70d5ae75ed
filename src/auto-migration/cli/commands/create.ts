import { isAbsolute, relative, resolve } from 'node:path';
import { isSemver } from '../../discovery/migration-validator';
import { describeCause } from '../../errors/auto-migration.error';
import { DEFAULT_INSTANCE, isDefaultInstance } from '../../instances/instance-name';
import type { ParsedArgs } from '../args';
import { CONFIG_FIELD, DEFAULT_CLASSES_DIR, type ProjectInfo, readProject } from '../cli-config';
import { usageError } from '../cli-error';
import type { CommandOutput, LocalCommand } from '../command';
import { ExitCode } from '../exit-codes';
import { chooseInstance, requestedInstance } from '../instance-choice';
import { parseModuleSpec } from '../load-module';
import type { ModuleMigrations } from '../module-migrations';
import { divertStdout } from '../stdout-guard';
import { folderMigrations } from '../scaffold/folder-migrations';
import type { KnownMigration } from '../scaffold/next-prefix';
import { scaffoldMigration } from '../scaffold/scaffold';

/** The version written when the application's package.json has none. */
const FALLBACK_VERSION = '0.0.0';

/** `create NAME [--sql] [--dir DIR]`. */
export const createCommand: LocalCommand = {
  kind: 'local',
  name: 'create',
  summary: 'Scaffold the next migration file (a class, or --sql files).',
  synopsis: 'create NAME [--sql] [--dir DIR]',
  description: [
    'Writes the next migration into its folder: the number after every migration in the classes',
    'folder, the SQL folder and the module (when one is given or configured), at the width they use',
    '(001 when there is none), or a UTC yyyymmddhhmmss prefix if they use timestamps; NAME',
    'snake-cased; the version of the application in ./package.json. A @Migration() class with up()',
    'and down(), or with --sql NNN_name.sql and NNN_name.down.sql. Never overwrites a file, and refuses',
    'a name a migration already has.',
    "The module is only read (its providers' @Migration() names and its migrationsDir), in Nest's",
    'preview mode: no provider is created and no database opened.',
    'With --database NAME, in an app with several databases: the class names that instance in its',
    "@Migration(), and the number follows that instance's migrations (the folder written in, its",
    'migrationsDir, the classes the module assigns to it); --sql writes into its migrationsDir.',
  ].join('\n'),
  flags: {
    sql: { type: 'boolean', description: 'Write NNN_name.sql and NNN_name.down.sql instead of a class.' },
    dir: {
      type: 'string',
      value: 'DIR',
      description:
        `Folder to write in. Default for a class: "${CONFIG_FIELD}.classesDir" in package.json, else ${DEFAULT_CLASSES_DIR}; ` +
        `for --sql: "${CONFIG_FIELD}.sqlDir" (the module's migrationsDir), which must then be set; ` +
        "with --database NAME, that instance's migrationsDir, read from the module.",
    },
  },
  positionals: ['NAME'],
  async run(args, output, cwd) {
    const project = readProject(cwd);
    const sql = args.flag('sql');
    const database = requestedInstance(args, 'create');
    // package.json's sqlDir is the default instance's SQL folder; a named instance's is its migrationsDir (or --dir).
    const named = database !== undefined && !isDefaultInstance(database);
    const classesDir = project.config.classesDir ?? DEFAULT_CLASSES_DIR;
    const configured = args.string('dir') ?? (!sql ? classesDir : named ? undefined : project.config.sqlDir);
    if (configured === undefined && !named) {
      // SQL files only run from the folder the module reads (its migrationsDir option); a guess
      // would leave a migration that never runs.
      throw usageError(
        `create --sql: no folder for SQL files: pass --dir DIR, or set "${CONFIG_FIELD}": { "sqlDir": "..." } in package.json ` +
          "to the folder of the module's migrationsDir option",
        'create',
      );
    }

    // A migration in the other folder, or one the module registers from elsewhere, with the same
    // number would sort before the applied ones and stop the app (OUT_OF_ORDER_MIGRATION).
    const module = await readModule(args, project, cwd, output);
    // A module of migrations only imports no instance: its migrations are all there is to know.
    const instance = module && module.migrations.instances.length > 0 ? chooseInstance(module.migrations.instances, database, module.label) : null;
    const folder = configured ?? instance?.migrationsDir;
    if (folder === undefined || folder === null) {
      throw usageError(
        `create --sql --database ${database}: no folder for SQL files: pass --dir DIR, or name the module (--module) whose ` +
          `AutoMigrationModule.forRoot({ name: "${database}", migrationsDir }) says where that instance reads them`,
        'create',
      );
    }
    const dir = resolve(cwd, folder);
    const validVersion = project.version !== null && isSemver(project.version) ? project.version : undefined;
    const version = validVersion ?? FALLBACK_VERSION;
    const shown = (path: string) => {
      const rel = relative(cwd, path);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
    };

    // The classes folder may hold every instance's classes, and counts for each: a class not yet
    // registered must not share its number with the next file. package.json's sqlDir is the
    // default instance's alone: another instance's SQL files do not decide a named one's order.
    const folders = (named ? [classesDir] : [classesDir, project.config.sqlDir]).flatMap((f) => (f === undefined ? [] : [resolve(cwd, f)]));
    if (instance?.migrationsDir) folders.push(instance.migrationsDir);
    const registered = module?.migrations.names.get(database ?? DEFAULT_INSTANCE) ?? [];
    const others: KnownMigration[] = [
      ...[...new Set(folders)].filter((f) => f !== dir).flatMap((f) => folderMigrations(f, shown(f))),
      ...registered.map((name) => ({ name, where: `the module ${module?.label}` })),
    ];

    const result = scaffoldMigration({
      dir,
      shownDir: shown(dir),
      name: args.positionals[0],
      sql,
      version,
      now: new Date(),
      others,
      dialect: instance?.dialect ?? 'sqlite',
      database: named ? database : null,
    });

    output.line(`Created ${result.files.map(shown).join(' and ')} (migration ${result.name}, version ${version}).`);
    if (validVersion === undefined) {
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
      output.line(
        named
          ? `AutoMigrationModule.forRoot({ name: "${database}" }) reads .sql files from its migrationsDir option: it must point at ${shown(dir)}.`
          : `The module reads .sql files from its migrationsDir option: it must point at ${shown(dir)}.`,
      );
    }
    return ExitCode.Ok;
  },
};

/**
 * The migrations of `--module`, else of package.json's module, read without starting it; null
 * when none is named. A module that cannot be read is a warning, not a failure: `create` then
 * numbers after the folders only, and says so.
 */
async function readModule(
  args: ParsedArgs,
  project: ProjectInfo,
  cwd: string,
  output: CommandOutput,
): Promise<{ label: string; migrations: ModuleMigrations } | null> {
  const flag = args.string('module');
  const spec = flag ?? project.config.module;
  if (spec === undefined) return null;
  // Loaded only now: Nest and the library take a while to load, and most `create`s name no module.
  const [{ readModuleMigrations }, { StderrLogger }] = await Promise.all([import('../module-migrations'), import('../stderr-logger')]);
  // Whatever the app's code prints while its files load goes to stderr, as for the other commands.
  const restoreStdout = divertStdout();
  try {
    const target = parseModuleSpec(spec, cwd, flag !== undefined ? '--module' : `package.json "${CONFIG_FIELD}.module"`);
    return { label: target.label, migrations: await readModuleMigrations(target, new StderrLogger(args.flag('verbose')), cwd) };
  } catch (error) {
    output.warn(
      'MODULE_NOT_READ',
      `${describeCause(error)}; the new migration is numbered after the migrations folders only, so check that no migration the module registers from elsewhere has its number`,
    );
    return null;
  } finally {
    restoreStdout();
  }
}

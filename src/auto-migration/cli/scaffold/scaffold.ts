import { type Dirent, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli-error';
import { migrationClassName, migrationSlug } from './migration-name';
import { isMigrationFile, type KnownMigration, nextPrefix } from './next-prefix';
import { classMigrationSource, type Dialect, sqlMigrationSources } from './templates';

/** What `create` is asked for. */
export interface ScaffoldRequest {
  /** Absolute path of the migrations folder (created if missing). */
  readonly dir: string;
  /** The folder as messages show it (relative to the working directory). */
  readonly shownDir: string;
  /** The name as typed; snake-cased and prefixed here. */
  readonly name: string;
  /** A `.sql` + `.down.sql` pair instead of a class. */
  readonly sql: boolean;
  /** The application version written into the migration. */
  readonly version: string;
  readonly now: Date;
  /** The migrations outside `dir`: in the other migrations folders, or registered by the module. */
  readonly others: readonly KnownMigration[];
  /** The module's database, which decides the template. */
  readonly dialect: Dialect;
  /** The instance a class is for, written into its `@Migration()`; null for the default instance. */
  readonly database: string | null;
}

/** What `create` wrote. */
export interface ScaffoldResult {
  /** The migration's name: `003_add_tags`. */
  readonly name: string;
  /** The class to list as a provider, or null for SQL files. */
  readonly className: string | null;
  /** Absolute paths of the files written. */
  readonly files: readonly string[];
}

/**
 * Writes the files of the next migration, numbered after the migrations of its folder and
 * `request.others`. Never overwrites: if a target exists (an orphan `.down.sql`, or another
 * `create` that ran at the same moment), or a migration of that name exists already, nothing is
 * written and the command is refused (`CREATE_REFUSED`) naming the file.
 */
export function scaffoldMigration(request: ScaffoldRequest): ScaffoldResult {
  const slug = migrationSlug(request.name);
  const entries = listFolder(request.dir);
  const known = [...entries.filter(isMigrationFile).map((file) => ({ name: file, where: request.shownDir, path: join(request.dir, file) })), ...request.others];
  const className = request.sql ? null : migrationClassName(slug);
  refuseRepeatedName(request.dir, entries, known, slug, className);
  const name = `${nextPrefix(known, request.now)}_${slug}`;

  const files: [string, string][] = request.sql
    ? (({ up, down }) => [
        [join(request.dir, `${name}.sql`), up],
        [join(request.dir, `${name}.down.sql`), down],
      ])(sqlMigrationSources({ version: request.version }, request.dialect))
    : [
        [
          join(request.dir, `${name}.ts`),
          classMigrationSource({ name, className: className!, version: request.version, database: request.database }, request.dialect),
        ],
      ];

  const taken = files.find(([path]) => existsSync(path));
  if (taken) throw refusedOverwrite(taken[0]);

  const written: string[] = [];
  try {
    for (const [path, content] of files) {
      // 'wx' fails instead of overwriting, should the file appear after the check above.
      writeFileSync(path, content, { flag: 'wx' });
      written.push(path);
    }
  } catch (error) {
    for (const path of written) unlinkSync(path);
    if ((error as { code?: unknown }).code === 'EEXIST') throw refusedOverwrite((error as { path?: string }).path ?? request.dir);
    throw new CliError('CREATE_REFUSED', `cannot write in ${request.dir}: ${(error as Error).message}`, { cause: error });
  }
  return { name, className, files: written };
}

/** The name after the prefix: `add_tags` of `003_add_tags.ts` and of the module's `003_add_tags`. */
const NAME_AFTER_PREFIX = /^\d+[_.-](.+)$/;
const EXTENSION = /\.(ts|mts|cts|js|mjs|cjs|sql)$/;
/** Class sources, searched for a class of the same name. */
const CLASS_SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/**
 * Refuses a second `create AddTags`: a migration with the same name after its prefix
 * (`003_add_tags.ts` beside a new `007_add_tags.ts`, in any migrations folder or in the module)
 * or, for a class, a class of the same name in the folder. Both would be legal, and both are
 * almost always a mistake (a command run twice, an import of the wrong `AddTags`).
 */
function refuseRepeatedName(dir: string, entries: readonly string[], known: readonly KnownMigration[], slug: string, className: string | null): void {
  const sameName = known.find((m) => NAME_AFTER_PREFIX.exec(m.path === undefined ? m.name : m.name.replace(EXTENSION, ''))?.[1] === slug);
  if (sameName) {
    const what = sameName.path ?? `${sameName.name} (in ${sameName.where})`;
    throw new CliError('CREATE_REFUSED', `${what} already has the name "${slug}"; nothing was written (choose a more specific name)`);
  }
  if (className === null) return;
  const declares = new RegExp(`\\bclass\\s+${className}\\b`);
  const sameClass = entries.find((file) => CLASS_SOURCE.test(file) && isMigrationFile(file) && declares.test(readText(join(dir, file))));
  if (sameClass) {
    throw new CliError('CREATE_REFUSED', `${join(dir, sameClass)} already declares a class ${className}; nothing was written (choose another name)`);
  }
}

/** A file's text, or '' when it cannot be read (it is then not in the way). */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function refusedOverwrite(path: string): CliError {
  return new CliError('CREATE_REFUSED', `${path} already exists; nothing was written (remove or rename it, or choose another name)`);
}

/** The file names in the folder, which is created when missing. */
function listFolder(dir: string): string[] {
  let entries: Dirent[];
  try {
    mkdirSync(dir, { recursive: true });
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new CliError('CREATE_REFUSED', `cannot use ${dir} as the migrations folder: ${(error as Error).message}`, { cause: error });
  }
  return entries.filter((e) => !e.isDirectory()).map((e) => e.name);
}

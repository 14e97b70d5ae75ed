import { type Dirent, existsSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli-error';
import { migrationClassName, migrationSlug } from './migration-name';
import { nextPrefix } from './next-prefix';
import { classMigrationSource, sqlMigrationSources } from './templates';

/** What `create` is asked for. */
export interface ScaffoldRequest {
  /** Absolute path of the migrations folder (created if missing). */
  readonly dir: string;
  /** The name as typed; snake-cased and prefixed here. */
  readonly name: string;
  /** A `.sql` + `.down.sql` pair instead of a class. */
  readonly sql: boolean;
  /** The application version written into the migration. */
  readonly version: string;
  readonly now: Date;
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
 * Writes the files of the next migration. Never overwrites: if a target exists (an orphan
 * `.down.sql`, or another `create` that ran at the same moment) nothing is written and the
 * command is refused (`CREATE_REFUSED`) naming the file.
 */
export function scaffoldMigration(request: ScaffoldRequest): ScaffoldResult {
  const slug = migrationSlug(request.name);
  const entries = listFolder(request.dir);
  const name = `${nextPrefix(entries, request.now)}_${slug}`;

  const className = request.sql ? null : migrationClassName(slug);
  const files: [string, string][] = request.sql
    ? (({ up, down }) => [
        [join(request.dir, `${name}.sql`), up],
        [join(request.dir, `${name}.down.sql`), down],
      ])(sqlMigrationSources({ version: request.version }))
    : [[join(request.dir, `${name}.ts`), classMigrationSource({ name, className: className!, version: request.version })]];

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

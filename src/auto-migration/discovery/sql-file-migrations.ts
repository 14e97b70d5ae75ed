import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { runScript } from '../driver/script-runner';
import type { SqlFileCheck } from '../driver/sql-file-check';
import { describeCause } from '../errors/auto-migration.error';
import type { MigrationInterface } from '../migration.interface';
import { normalizeSqlText, sqlChecksum } from './migration-checksum';
import { containsSql, parseSqlFile } from './sql-header';

const UP_SUFFIX = '.sql';
const DOWN_SUFFIX = '.down.sql';

/** One `.sql` migration as read from the folder, before its name is validated with the classes'. */
export interface SqlMigrationFile {
  /** The file name without `.sql`: `005_add_tags.sql` is `005_add_tags`. */
  readonly name: string;
  /** The file name, `005_add_tags.sql`. */
  readonly fileName: string;
  /** The path for messages: relative to the working directory when inside it, else absolute. */
  readonly label: string;
  /** From the header; `''` when the header has no valid version (then `problems` says so). */
  readonly version: string;
  readonly description: string;
  readonly transaction: boolean;
  /** Safety-analysis rules its `-- allow:` header acknowledges; absent when it has none. */
  readonly allow?: readonly string[];
  /** The text, normalised (see `normalizeSqlText`), run whole by `up`. */
  readonly text: string;
  readonly checksum: string;
  /** The normalised text of `<name>.down.sql`, or null when there is none. */
  readonly down: string | null;
  /** What is wrong with this file (header, content, its down file), each line labelled. */
  readonly problems: readonly string[];
  /** What the runner calls: see `sqlMigrationInstance`. */
  readonly instance: MigrationInterface;
}

/** What a migrations folder holds: its migrations, and the problems that belong to no single one. */
export interface SqlMigrationFolder {
  readonly files: readonly SqlMigrationFile[];
  readonly problems: readonly string[];
}

/**
 * Reads a folder of `.sql` migrations, synchronously: discovery runs before the database is
 * opened, and every problem found here is reported with those of the classes, in one error.
 *
 * `<name>.sql` is migration `<name>`; `<name>.down.sql` is its `down`. Files with another
 * extension and subfolders are ignored (a README or `.gitkeep` may live there). Each file is
 * read once, here: the text that is checksummed is the text that runs.
 *
 * @param dir absolute path of the folder (the resolved `migrationsDir` option).
 * @param cwd what labels in messages are relative to.
 */
export function readSqlMigrations(dir: string, cwd = process.cwd(), check: SqlFileCheck | null = null): SqlMigrationFolder {
  const labelOf = (fileName: string) => {
    const path = join(dir, fileName);
    const rel = relative(cwd, path);
    const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    return outside ? path : rel;
  };

  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    return { files: [], problems: [folderProblem(dir, error)] };
  }

  const problems: string[] = [];
  const ups = new Map<string, string>();
  const downs = new Map<string, string>();
  // The default sort compares code units, the order migrations apply in: problems come in that order.
  for (const fileName of entries
    .filter((e) => isFile(dir, e))
    .map((e) => e.name)
    .sort()) {
    if (fileName.endsWith(DOWN_SUFFIX)) downs.set(fileName.slice(0, -DOWN_SUFFIX.length), fileName);
    else if (fileName.endsWith(UP_SUFFIX)) ups.set(fileName.slice(0, -UP_SUFFIX.length), fileName);
    // `.SQL` would silently not run on Linux while it runs on a case-insensitive file system elsewhere.
    else if (fileName.toLowerCase().endsWith(UP_SUFFIX)) problems.push(`${labelOf(fileName)}: use the lower-case extension ".sql"`);
  }
  for (const [name, fileName] of downs) {
    if (!ups.has(name)) problems.push(`${labelOf(fileName)}: down file without its migration "${name}${UP_SUFFIX}" (add it, or remove this file)`);
  }

  const files = [...ups].map(([name, fileName]): SqlMigrationFile => {
    const label = labelOf(fileName);
    const fileProblems: string[] = [];
    const up = read(join(dir, fileName));
    const parsed = up.text === null ? null : parseSqlFile(up.text);
    if (up.text === null) fileProblems.push(`${label}: ${up.error}`);
    for (const problem of parsed?.problems ?? []) fileProblems.push(`${label}: ${problem}`);
    const transaction = parsed?.header.transaction ?? true;
    if (check && up.text !== null) for (const problem of check(up.text, transaction)) fileProblems.push(`${label}: ${problem}`);

    const downName = downs.get(name);
    let down: string | null = null;
    if (downName !== undefined) {
      const downFile = read(join(dir, downName));
      if (downFile.text === null) fileProblems.push(`${labelOf(downName)}: ${downFile.error}`);
      else if (!containsSql(downFile.text)) fileProblems.push(`${labelOf(downName)}: has no SQL`);
      else if (check) for (const problem of check(downFile.text, transaction)) fileProblems.push(`${labelOf(downName)}: ${problem}`);
      down = downFile.text;
    }
    const text = up.text ?? '';
    return {
      name,
      fileName,
      label,
      version: parsed?.header.version ?? '',
      description: parsed?.header.description ?? '',
      transaction,
      ...(parsed?.header.allow && { allow: parsed.header.allow }),
      text,
      checksum: sqlChecksum(text),
      down,
      problems: fileProblems,
      instance: sqlMigrationInstance({ text, down, transaction }),
    };
  });
  return { files, problems };
}

/**
 * The migration instance of a `.sql` file: `up` runs the whole text the way the connection's
 * driver runs a script (see `runScript`), `down` exists only when the file has a `.down.sql`.
 */
function sqlMigrationInstance({ text, down, transaction }: Pick<SqlMigrationFile, 'text' | 'down' | 'transaction'>): MigrationInterface {
  const instance: MigrationInterface = { up: (db) => runScript(db, text, { transaction }) };
  if (down !== null) instance.down = (db) => runScript(db, down, { transaction });
  return instance;
}

/** A regular file, or a symbolic link to one; subfolders (and broken links) are not migrations. */
function isFile(dir: string, entry: Dirent): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, entry.name)).isFile();
  } catch {
    return false;
  }
}

function read(path: string): { text: string; error?: undefined } | { text: null; error: string } {
  try {
    return { text: normalizeSqlText(readFileSync(path, 'utf8')) };
  } catch (error) {
    return { text: null, error: `cannot be read: ${describeCause(error)}` };
  }
}

function folderProblem(dir: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return `migrationsDir: the folder "${dir}" does not exist (create it, or correct the option)`;
  if (code === 'ENOTDIR') return `migrationsDir: "${dir}" is not a folder`;
  return `migrationsDir: the folder "${dir}" cannot be read: ${describeCause(error)}`;
}

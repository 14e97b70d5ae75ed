import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cli-error';

/**
 * The `nestAutoMigration` field of the project's package.json: the defaults of the flags, so that
 * a plain `npx nest-auto-migration status` works in the project folder.
 *
 * ```json
 * "nestAutoMigration": { "module": "dist/app.module.js#AppModule", "classesDir": "src/migrations", "sqlDir": "migrations" }
 * ```
 */
export interface CliConfig {
  /** Default of `--module`: compiled module file (relative to package.json's folder) and export. */
  readonly module?: string;
  /** Default of `create --dir`: where new migration classes are written. */
  readonly classesDir?: string;
  /**
   * Default of `create --sql --dir`: where new `.sql` migrations are written. The module reads
   * them from its `migrationsDir` option, so this is the same folder.
   */
  readonly sqlDir?: string;
}

/** What the command line reads from the working directory's package.json. */
export interface ProjectInfo {
  /** Absolute path of package.json, or null when the folder has none. */
  readonly packageJson: string | null;
  /** Its `version`, or null when absent. */
  readonly version: string | null;
  readonly config: CliConfig;
}

/** The migrations folder of classes when package.json sets no `classesDir`: where `create` writes, and `status` looks. */
export const DEFAULT_CLASSES_DIR = 'migrations';

/** The package.json field holding the command line's defaults. */
export const CONFIG_FIELD = 'nestAutoMigration';
const CONFIG_KEYS: readonly (keyof CliConfig)[] = ['module', 'classesDir', 'sqlDir'];
/**
 * Keys one reaches for by analogy with the module's options (and that earlier versions of this field
 * used), with what to write instead: `migrationsDir` would be ambiguous here.
 */
const RENAMED_KEYS: Readonly<Record<string, string>> = {
  migrationsDir: '"classesDir" (where create writes classes) and "sqlDir" (where create --sql writes; the module\'s migrationsDir)',
};

/**
 * Reads `<cwd>/package.json` (only that one: the command runs from the project's root, where
 * relative paths in the field are meant from). A folder without package.json is fine; a
 * package.json that is not JSON, or a malformed field, is a `CONFIG_INVALID` error listing every
 * problem, rather than a default that silently differs from what was written.
 */
export function readProject(cwd: string): ProjectInfo {
  const path = join(cwd, 'package.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { packageJson: null, version: null, config: {} };
    throw new CliError('CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const pkg = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  return {
    packageJson: path,
    version: typeof pkg.version === 'string' ? pkg.version : null,
    config: validateConfig(pkg[CONFIG_FIELD], path),
  };
}

function validateConfig(raw: unknown, path: string): CliConfig {
  if (raw === undefined) return {};
  const where = `"${CONFIG_FIELD}" in ${path}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CliError('CONFIG_INVALID', `${where} must be an object such as { "module": "dist/app.module.js#AppModule" }`);
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (Object.hasOwn(RENAMED_KEYS, key)) problems.push(`"${key}" is replaced by ${RENAMED_KEYS[key]}`);
    else if (!(CONFIG_KEYS as readonly string[]).includes(key)) problems.push(`unknown key "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
    else if (typeof value !== 'string' || value.trim() === '') problems.push(`"${key}" must be a non-empty string`);
  }
  if (problems.length > 0) throw new CliError('CONFIG_INVALID', `${where}: ${problems.join('; ')}`);
  return raw;
}

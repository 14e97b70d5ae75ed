import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Type } from '@nestjs/common';
import { describeCause } from '../errors/auto-migration.error';
import { CliError } from './cli-error';

/** The export booted when `--module` names none. */
export const DEFAULT_EXPORT = 'AppModule';

/** Which module to boot: `file#Export`, and where that was said (for error messages). */
export interface ModuleTarget {
  /** Absolute path of the module file. */
  readonly file: string;
  readonly exportName: string;
  /** `--module` or `package.json "nestAutoMigration.module"`. */
  readonly origin: string;
  /** The file and export as given, for messages: `dist/app.module.js#AppModule`. */
  readonly label: string;
}

/**
 * Splits `<file>[#Export]` and resolves the file against `cwd`. The last `#` separates the
 * export, so paths with `#` in a folder name still work when the export is given.
 */
export function parseModuleSpec(spec: string, cwd: string, origin: string): ModuleTarget {
  const hash = spec.lastIndexOf('#');
  const path = hash === -1 ? spec : spec.slice(0, hash);
  const exportName = hash === -1 ? DEFAULT_EXPORT : spec.slice(hash + 1);
  if (path.trim() === '' || exportName.trim() === '') {
    throw new CliError('USAGE', `${origin}: "${spec}" must be <compiled module file>[#Export], e.g. dist/app.module.js#AppModule`);
  }
  return { file: resolve(cwd, path), exportName, origin, label: `${path}#${exportName}` };
}

// TypeScript compiles `import()` to `require()` in CommonJS output; a function built at run time
// keeps a real dynamic import, which loads ES modules from CommonJS, compiled or under ts-node.
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- on purpose: see the comment above.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** Codes with which `require()` turns down an ES module it cannot load synchronously. */
const NEEDS_IMPORT = new Set(['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);

/**
 * Loads the module file, CommonJS or ESM, and returns the named export, which must be a class
 * (the app's root module). `.mjs` files are imported; anything else is required first, and
 * imported when Node says it is an ES module that `require()` cannot load (an ESM `.js` before
 * Node 20.19, or a module with top-level await). Every failure is `MODULE_NOT_LOADABLE`,
 * naming the file and the export.
 */
export async function loadModuleClass(target: ModuleTarget): Promise<Type<unknown>> {
  const { file, exportName } = target;
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new CliError(
      'MODULE_NOT_LOADABLE',
      `cannot find the module file ${file} (from ${target.origin} "${target.label}"): build the app first, or correct the path`,
    );
  }

  let exports: Record<string, unknown>;
  try {
    exports = await loadFile(file);
  } catch (error) {
    throw new CliError('MODULE_NOT_LOADABLE', `loading ${file} failed: ${describeCause(error)}`, { cause: error });
  }

  if (!Object.hasOwn(exports, exportName)) {
    const names = Object.keys(exports).filter((name) => name !== '__esModule');
    const available = names.length > 0 ? `it exports ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}` : 'it exports nothing';
    throw new CliError('MODULE_NOT_LOADABLE', `${file} has no export "${exportName}" (${available}); name one with --module <file>#<Export>`);
  }
  const moduleClass = exports[exportName];
  if (typeof moduleClass !== 'function') {
    throw new CliError(
      'MODULE_NOT_LOADABLE',
      `export "${exportName}" of ${file} is not a class (it is ${moduleClass === null ? 'null' : typeof moduleClass}); name the app's root module`,
    );
  }
  return moduleClass as Type<unknown>;
}

async function loadFile(file: string): Promise<Record<string, unknown>> {
  if (file.endsWith('.mjs')) return dynamicImport(pathToFileURL(file).href);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the user's compiled module synchronously first; import() only for ES modules.
    return require(file) as Record<string, unknown>;
  } catch (error) {
    if (NEEDS_IMPORT.has((error as { code?: string }).code ?? '')) return dynamicImport(pathToFileURL(file).href);
    throw error;
  }
}

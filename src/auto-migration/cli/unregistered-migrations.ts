import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSource } from '../discovery/source-normalizer';
import { DEFAULT_INSTANCE } from '../instances/instance-name';

/** A `@Migration()` class found in a file's text. */
export interface DeclaredMigration {
  /** The `name` of its decorator. */
  readonly name: string;
  /** Its class, or null when the text does not say (an anonymous class expression). */
  readonly className: string | null;
  /**
   * The instance its decorator names (`database`): absent for the default instance, null when the
   * text does not say (a constant rather than a string literal).
   */
  readonly database?: string | null;
}

/**
 * The migrations the booted module discovered, by instance name; a plain list is the default
 * instance's (an app with one database).
 */
export type RegisteredMigrations = ReadonlyMap<string, readonly string[]> | readonly string[];

/** A file of the migrations folder whose decorated classes the booted module does not register. */
export interface UnregisteredFile {
  /** Absolute path. */
  readonly file: string;
  readonly migrations: readonly DeclaredMigration[];
}

/** Class sources and compiled classes; not declarations. */
const CLASS_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const DECLARATION = /\.d\.[mc]?ts$/;
/** Larger files are not migrations someone forgot: a bundle, generated code. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The files directly in `dir` that declare `@Migration()` classes that are not `registered` (among
 * the migrations the booted module discovered for the instance the class names): a class nobody
 * listed in a module's providers, which never runs. A class whose instance the text does not say
 * counts as registered when any instance discovered its name. Found by reading the text, never by
 * running the files: the folder may hold files that no module imports, and importing them could
 * do anything. A decorator whose `name` is not a string literal (a constant) cannot be read this
 * way and is not reported. A folder that does not exist has none.
 */
export function findUnregisteredMigrations(dir: string, registered: RegisteredMigrations): UnregisteredFile[] {
  let files: string[];
  try {
    files = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && CLASS_FILE.test(entry.name) && !DECLARATION.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
  const byInstance = new Map<string, ReadonlySet<string>>();
  const lists: Iterable<readonly [string, readonly string[]]> = isNameList(registered) ? [[DEFAULT_INSTANCE, registered]] : registered;
  for (const [instance, names] of lists) byInstance.set(instance, new Set(names));
  const isRegistered = ({ name, database }: DeclaredMigration): boolean =>
    database === null ? [...byInstance.values()].some((names) => names.has(name)) : (byInstance.get(database ?? DEFAULT_INSTANCE)?.has(name) ?? false);
  return files.flatMap((name) => {
    const file = join(dir, name);
    const missing = declaredMigrations(readSmallText(file)).filter((migration) => !isRegistered(migration));
    return missing.length > 0 ? [{ file, migrations: missing }] : [];
  });
}

function isNameList(registered: RegisteredMigrations): registered is readonly string[] {
  return Array.isArray(registered);
}

/**
 * The `@Migration({ name: '...' })` classes in a source or compiled file's text, with the instance
 * they name (`database`) when they name one. Comments are removed first (a commented-out
 * decorator declares nothing); the class is the next `class X` after the decorator (TypeScript
 * source) or the target of tsc's `__decorate([...], X)`.
 */
export function declaredMigrations(text: string): DeclaredMigration[] {
  if (!text.includes('Migration')) return [];
  const code = normalizeSource(text);
  const found: DeclaredMigration[] = [];
  // `@Migration({`, `@lib.Migration({`, and tsc's `(0, lib_1.Migration)({`.
  const decorator = /\bMigration\)?\(\{/g;
  for (let match = decorator.exec(code); match !== null; match = decorator.exec(code)) {
    const open = match.index + match[0].length - 1;
    const end = objectEnd(code, open);
    const object = end === -1 ? null : code.slice(open, end + 1);
    const name = object === null ? null : (stringProperty(object, 'name') ?? null);
    if (object === null || name === null) continue;
    const database = stringProperty(object, 'database');
    // `end + 2`: past the object's `}` and the decorator call's `)`.
    found.push({ name, className: classAfter(code, end + 2), ...(database === undefined ? {} : { database }) });
    decorator.lastIndex = end + 1;
  }
  return found;
}

/** The index of the `}` closing the object literal opened at `open`, or -1; strings are skipped. */
function objectEnd(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === "'" || c === '"' || c === '`') i = stringEnd(code, i);
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** The index of the quote closing the string literal that starts at `start`. */
function stringEnd(code: string, start: number): number {
  const quote = code[start];
  let i = start + 1;
  while (i < code.length && code[i] !== quote) i += code[i] === '\\' ? 2 : 1;
  return i;
}

/**
 * The object literal's top-level property `key`: its value when it is a plain string literal, null
 * when it has another value (a constant; escapes and template substitutions make a value this
 * reading cannot be sure of), undefined when the object has no such property.
 */
function stringProperty(object: string, key: string): string | null | undefined {
  const property = new RegExp(`^(?:${key}|'${key}'|"${key}"):`);
  let depth = 0;
  for (let i = 0; i < object.length; i++) {
    const c = object[i];
    if (c === "'" || c === '"' || c === '`') {
      i = stringEnd(object, i);
      continue;
    }
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    // A property starts after the object's `{` or after a `,` between its properties.
    if (depth !== 1 || (c !== '{' && c !== ',')) continue;
    const match = property.exec(object.slice(i + 1, i + key.length + 4));
    if (!match) continue;
    const start = i + 1 + match[0].length;
    if (!["'", '"', '`'].includes(object[start])) return null;
    const value = object.slice(start + 1, stringEnd(object, start));
    return /[\\$]/.test(value) ? null : value;
  }
  return undefined;
}

/**
 * The decorated class, read from just after the decorator's call: the next `class X` outside any
 * brackets (TypeScript source), or the `X` of `], X)` closing tsc's `__decorate([...], X)`.
 */
function classAfter(code: string, from: number): string | null {
  let depth = 0;
  for (let i = from; i < code.length; i++) {
    const c = code[i];
    if (c === "'" || c === '"' || c === '`') i = stringEnd(code, i);
    else if (c === '[' || c === '(' || c === '{') depth++;
    else if (c === ']' || c === ')' || c === '}') {
      if (--depth >= 0) continue;
      return c === ']' ? (/^\],([A-Za-z_$][\w$]*)\)/.exec(code.slice(i, i + 300))?.[1] ?? null) : null;
    } else if (depth === 0 && c === 'c' && !/[\w$]/.test(code[i - 1] ?? '')) {
      const declared = /^class ([A-Za-z_$][\w$]*)/.exec(code.slice(i, i + 300));
      if (declared) return declared[1];
    }
  }
  return null;
}

/** A file's text, or '' when it is unreadable or too large to be a migration. */
function readSmallText(path: string): string {
  try {
    return statSync(path).size > MAX_FILE_BYTES ? '' : readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

import { createHash } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { normalizeSource } from './source-normalizer';

/**
 * The checksum derived from a migration class: SHA-256 (hex) over `name:source` lines, one per
 * method on its prototype chain (most derived definition of each name; getters and setters
 * included; sorted by name), plus one `constructor:` line per class of the chain holding what
 * the class text has besides its methods: the constructor and, as TypeScript compiles them into
 * it, instance field initialisers (SQL kept in a field counts). Class names are left out, so a
 * rename alone changes nothing; every source is normalised (see `normalizeSource`), so comments
 * and formatting do not count either.
 */
export function classChecksum(type: Type<unknown>): string {
  const hash = createHash('sha256');
  for (const [name, source] of sourcesOf(type)) hash.update(`${name}:${normalizeSource(source)}\n`);
  return hash.digest('hex');
}

/**
 * SHA-256 of the raw text of the class and of each class it extends: equal source hashes mean
 * equal checksums (the checksum is derived from that text alone), so a start compares these and
 * normalises only a class whose compiled text changed. Kept to one `toString()` per class of the
 * chain: it runs for every applied migration at every start. A method assigned to the prototype
 * outside the class body is not in that text, so such a class stores no source hash (see
 * `isSelfContained`) and is always compared by its checksum.
 */
export function classSourceHash(type: Type<unknown>): string {
  const hash = createHash('sha256');
  for (const { text } of chainOf(type)) hash.update(text).update('\0');
  return hash.digest('hex');
}

/**
 * Whether every method on the class's prototype chain is written inside its class body, so that
 * the class text (`classSourceHash`) covers everything `classChecksum` hashes. Checked when a
 * history row is written, never on the start-up path.
 */
export function isSelfContained(type: Type<unknown>): boolean {
  for (const { proto, text } of chainOf(type)) {
    for (const [, sources] of ownMethods(proto)) if (!sources.every((source) => text.includes(source))) return false;
  }
  return true;
}

function sourcesOf(type: Type<unknown>): [string, string][] {
  const methods = new Map<string, string>();
  const constructors: [string, string][] = [];
  for (const { proto, text } of chainOf(type)) {
    let rest = text;
    for (const [name, sources] of ownMethods(proto)) {
      for (const source of sources) rest = rest.replace(source, '');
      if (!methods.has(name)) methods.set(name, sources.join('\n'));
    }
    constructors.push(['constructor', withoutClassName(rest)]);
  }
  return [...constructors, ...[...methods].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
}

/** Each class of the chain from `type` up (short of Object), with its prototype and its source text. */
function* chainOf(type: Type<unknown>): Generator<{ proto: object; text: string }> {
  for (let cls: Function | null = type; cls && cls !== Function.prototype; cls = Object.getPrototypeOf(cls)) {
    const proto = cls.prototype as object | undefined;
    if (!proto || proto === Object.prototype) return;
    yield { proto, text: Function.prototype.toString.call(cls) };
  }
}

/** The own methods of a prototype (getters and setters included), each with its source text. */
function* ownMethods(proto: object): Generator<[string, string[]]> {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor') continue;
    const { value, get, set } = Object.getOwnPropertyDescriptor(proto, name)!;
    const sources = [value, get, set].filter((f): f is Function => typeof f === 'function').map((f) => Function.prototype.toString.call(f));
    if (sources.length > 0) yield [name, sources];
  }
}

function withoutClassName(classText: string): string {
  return classText.replace(/^\s*class(\s+[A-Za-z0-9_$\u0080-\uffff]+)?/, 'class');
}

/**
 * The text of a `.sql` migration as it is checksummed, parsed and run: a leading byte-order mark
 * dropped and line endings normalised (CRLF and CR become LF), so checking a file out on Windows
 * or saving it with another editor does not change its checksum.
 */
export function normalizeSqlText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** The checksum of a `.sql` migration: SHA-256 (hex) of its text, normalised by `normalizeSqlText`. */
export function sqlChecksum(text: string): string {
  return createHash('sha256').update(normalizeSqlText(text)).digest('hex');
}

import { hash } from 'node:crypto';
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
  return checksumOf(linksOf(type));
}

/**
 * SHA-256 of the raw text of the class and of each class it extends: equal source hashes mean
 * equal checksums (the checksum is derived from that text alone), so a start compares these and
 * normalises only a class whose compiled text changed. Kept to one `toString()` per class of the
 * chain: it runs for every applied migration at every start. A method assigned to the prototype
 * outside the class body is not in that text, so such a class stores no source hash (see
 * `classFingerprint`) and is always compared by its checksum.
 */
export function classSourceHash(type: Type<unknown>): string {
  return sourceHashOf(chainOf(type).map(({ text }) => text));
}

/**
 * What a history row records of a class, from one walk of its chain (one `toString()` per class
 * and per method): its checksum, and its source hash when the class is self-contained, i.e. every
 * method on its chain is written inside its class body, so that the class text covers everything
 * the checksum hashes; null otherwise.
 */
export function classFingerprint(type: Type<unknown>): { checksum: string; storedSourceHash: string | null } {
  const links = linksOf(type);
  const selfContained = links.every(({ text, methods }) => methods.every(([, sources]) => sources.every((source) => text.includes(source))));
  return { checksum: checksumOf(links), storedSourceHash: selfContained ? sourceHashOf(links.map(({ text }) => text)) : null };
}

/** A class of the chain: its source text and its own methods (getters and setters included), each with its source texts. */
type ClassLink = { text: string; methods: [string, string[]][] };

function linksOf(type: Type<unknown>): ClassLink[] {
  return chainOf(type).map(({ proto, text }) => ({ text, methods: [...ownMethods(proto)] }));
}

/** The lines `classChecksum` describes, hashed as one string: the digest of feeding them one by one, without a Hash object. */
function checksumOf(links: readonly ClassLink[]): string {
  const methods = new Map<string, string>();
  const lines: string[] = [];
  for (const { text, methods: own } of links) {
    let rest = text;
    for (const [name, sources] of own) {
      for (const source of sources) rest = rest.replace(source, '');
      if (!methods.has(name)) methods.set(name, sources.join('\n'));
    }
    lines.push(`constructor:${normalizeSource(withoutClassName(rest))}\n`);
  }
  for (const [name, source] of [...methods].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`${name}:${normalizeSource(source)}\n`);
  return hash('sha256', lines.join(''));
}

function sourceHashOf(texts: readonly string[]): string {
  let hashed = '';
  for (const text of texts) hashed += `${text}\0`;
  return hash('sha256', hashed);
}

type AnyClass = abstract new (...args: never[]) => unknown;
type AnyFunction = (...args: never[]) => unknown;

/**
 * Each class of the chain from `type` up (short of Object), with its prototype and its source text.
 * A plain loop rather than a generator: it runs for every applied migration at every start.
 */
function chainOf(type: Type<unknown>): { proto: object; text: string }[] {
  const chain: { proto: object; text: string }[] = [];
  for (let cls: AnyClass | null = type; cls && cls !== Function.prototype; cls = Object.getPrototypeOf(cls) as AnyClass | null) {
    const proto = cls.prototype as object | undefined;
    if (!proto || proto === Object.prototype) break;
    chain.push({ proto, text: Function.prototype.toString.call(cls) });
  }
  return chain;
}

/** The own methods of a prototype (getters and setters included), each with its source text. */
function* ownMethods(proto: object): Generator<[string, string[]]> {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor') continue;
    // Only the functions' source text is read, so their values are `unknown` here (none is called).
    const { value, get, set } = Object.getOwnPropertyDescriptor(proto, name) as { value?: unknown; get?: unknown; set?: unknown };
    const sources = [value, get, set].filter((f): f is AnyFunction => typeof f === 'function').map((f) => Function.prototype.toString.call(f));
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
  return hash('sha256', normalizeSqlText(text));
}

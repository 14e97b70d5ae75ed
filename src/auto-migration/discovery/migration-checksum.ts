import { createHash } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { normalizeSource } from './source-normalizer';

/**
 * The checksum derived from a migration class: SHA-256 (hex) over the normalised source of
 * every method on its prototype chain (most derived definition of each name, constructor
 * excluded, sorted by name), as `name:source` lines. Normalisation drops comments and
 * formatting (see `normalizeSource`), so only a change to what the code does changes it.
 */
export function classChecksum(type: Type<unknown>): string {
  const hash = createHash('sha256');
  for (const [name, source] of methodSources(type)) hash.update(`${name}:${normalizeSource(source)}\n`);
  return hash.digest('hex');
}

function methodSources(type: Type<unknown>): [string, string][] {
  const sources = new Map<string, string>();
  for (let proto = type.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || sources.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
      const parts = [descriptor.value, descriptor.get, descriptor.set].filter((f): f is Function => typeof f === 'function');
      if (parts.length > 0) sources.set(name, parts.map((f) => Function.prototype.toString.call(f)).join('\n'));
    }
  }
  return [...sources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

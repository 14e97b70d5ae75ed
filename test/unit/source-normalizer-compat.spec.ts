import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSource } from '../../src/auto-migration/discovery/source-normalizer';
import { normalizeSourceV1 } from './fixtures/source-normalizer-v1';

/**
 * The normaliser was rewritten for speed; checksums stored by earlier releases depend on its
 * output, so the rewrite is compared with the frozen earlier one on the repository's own source
 * files (whole, and sliced at seeded random offsets so that inputs start and end mid-token) and on
 * seeded random strings of the characters and tokens the scanner treats specially.
 */
const ROOT = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'fixtures' ? [] : sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** mulberry32: a small seeded generator, so every run checks the same inputs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = [...'/*\'"`{}$\\+-\n\t abcxyz019()=;.[]', '/', '*', '`', '$', '{', '}', '\r', '\u00a0', 'é', '\u2028', '\ufeff', '\ud83d\ude00', '\ud83d'];
const TOKENS = [
  'return',
  'typeof',
  'in',
  'of',
  'await',
  'x.return',
  'a',
  'éreturn',
  '/',
  '//',
  '/*',
  '*/',
  '/re/g',
  '/[/]/',
  '/a\\/b/',
  '\\',
  '+',
  '-',
  '++',
  '--',
  '*',
  '=',
  '(',
  ')',
  ',',
  ';',
  '.',
  '!',
  "'",
  '"',
  "'s t'",
  '"s\\"t"',
  '`',
  '${',
  '}',
  '{',
  '$',
  '`t ${x} u`',
  ' ',
  '  ',
  '\n',
  '\t',
  '\r\n',
  '// c\n',
  '/* c */',
  '\u00a0',
  '12',
  'SELECT  *  FROM',
];

function inputs(): string[] {
  const next = random(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const texts = ['src', 'migrations', 'test', 'bench', 'scripts'].flatMap((dir) => sourceFiles(join(ROOT, dir))).map((file) => readFileSync(file, 'utf8'));
  const slices = texts.flatMap((text) =>
    Array.from({ length: 20 }, () => {
      const start = Math.floor(next() * text.length);
      return text.slice(start, start + 1 + Math.floor(next() * 400));
    }),
  );
  const randomChars = Array.from({ length: 10000 }, () => Array.from({ length: Math.floor(next() * 60) }, () => pick(CHARS)).join(''));
  const randomTokens = Array.from({ length: 10000 }, () => Array.from({ length: Math.floor(next() * 25) }, () => pick(TOKENS)).join(''));
  return [...texts, ...slices, ...randomChars, ...randomTokens];
}

describe('normalizeSource against the frozen earlier implementation', () => {
  it('gives the same output, byte for byte, on repository sources, their slices and seeded random strings', () => {
    const all = inputs();
    const mismatches = all.filter((input) => normalizeSource(input) !== normalizeSourceV1(input));
    expect({ checked: all.length > 20000, mismatches: mismatches.slice(0, 3) }).toEqual({ checked: true, mismatches: [] });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSource } from '../../src/auto-migration/discovery/source-normalizer';

/**
 * Checksums built from `normalizeSource` are stored in users' databases, so its output must never
 * change, whatever the input. The fixture records the output of the implementation as it was when
 * the fixture was made, for: the repository's own source files (whole, truncated, and sliced at
 * random offsets, so that many inputs start or end mid-token), the `Function.prototype.toString()`
 * text of its compiled classes and methods, the inputs of source-normalizer.spec.ts, hand-written
 * edge cases (regex or division, `a + +b`, nested templates, unterminated literals and comments,
 * CRLF, Unicode white space and identifiers), and random strings of special characters and tokens.
 */
const golden = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'normalizer-golden.json'), 'utf8')) as { input: string; output: string }[];

describe('normalizeSource golden outputs', () => {
  it(`reproduces all ${golden.length} recorded outputs byte for byte`, () => {
    const mismatches = golden.flatMap(({ input, output }, index) => {
      const actual = normalizeSource(input);
      return actual === output ? [] : [{ index, input: input.slice(0, 200), expected: output.slice(0, 200), actual: actual.slice(0, 200) }];
    });
    expect({ count: mismatches.length, first: mismatches.slice(0, 5) }).toEqual({ count: 0, first: [] });
  });
});

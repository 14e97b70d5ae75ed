import type { Type } from '@nestjs/common';
import * as checksums from '../../src/auto-migration/discovery/migration-checksum';
import type { MigrationCandidate } from '../../src/auto-migration/discovery/migration-definition';
import { validateMigrations } from '../../src/auto-migration/discovery/migration-validator';
import { DuplicateMigrationError, InvalidMigrationError, MixedPrefixWidthError } from '../../src/auto-migration/errors';
import { thrown } from '../helpers/thrown';

/**
 * The start with nothing pending validates every migration of the app: these pin what the cheap
 * paths of that validation (one pass over the sorted list, semver asked once per version, checksums
 * left for later) must still find, and that they compute no checksum.
 */
function candidate(name: string, extra: Record<string, unknown> = {}, className = `M_${name}`): MigrationCandidate {
  const type = new Function(`return class ${className} { up(db) { db.exec(${JSON.stringify(`-- ${name}`)}); } };`)() as Type<unknown>;
  return { type, metadata: { name, version: '1.0.0', ...extra }, isSingleton: true, instance: () => new type() };
}

const many = (count: number) => Array.from({ length: count }, (_, k) => candidate(`${String(k + 1).padStart(4, '0')}_m`));

describe('validateMigrations over many migrations', () => {
  it('finds a duplicate name given far apart, and names the classes in the order given', () => {
    const error = thrown(() =>
      validateMigrations([
        candidate('0050_m', {}, 'First'),
        ...many(100).filter((c) => (c.metadata as { name: string }).name !== '0050_m'),
        candidate('0050_m', {}, 'Second'),
      ]),
    ) as DuplicateMigrationError;
    expect(error).toBeInstanceOf(DuplicateMigrationError);
    expect([...error.duplicates]).toEqual([['0050_m', ['First', 'Second']]]);
  });

  it('finds one prefix of another width wherever it sorts, and groups the names by width in the order given', () => {
    for (const odd of ['00001_first', '00505_middle', '999_last']) {
      const error = thrown(() => validateMigrations([...many(100), candidate(odd, {}, 'Odd')])) as MixedPrefixWidthError;
      expect(error).toBeInstanceOf(MixedPrefixWidthError);
      const oddWidth = /^\d+/.exec(odd)![0].length;
      expect(error.byWidth.get(oddWidth)).toEqual([odd]);
      expect(error.byWidth.get(4)).toHaveLength(100);
    }
  });

  it('reports a bad version once per class that has it, however many share it', () => {
    const error = thrown(() =>
      validateMigrations([
        candidate('0001_a', { version: '1.0' }),
        candidate('0002_b'),
        candidate('0003_c', { version: '1.0' }),
        candidate('0004_d', { version: 'v1.0.0' }),
      ]),
    ) as InvalidMigrationError;
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.problems).toHaveLength(3);
    for (const name of ['0001_a', '0003_c', '0004_d']) expect(error.problems.join('\n')).toContain(name);
  });

  it('computes no checksum or source hash while validating, and each one once when asked', () => {
    const fingerprint = jest.spyOn(checksums, 'classFingerprint');
    const sourceHash = jest.spyOn(checksums, 'classSourceHash');
    try {
      const candidates = many(50);
      const definitions = validateMigrations(candidates);
      expect(fingerprint).not.toHaveBeenCalled();
      expect(sourceHash).not.toHaveBeenCalled();

      const [first] = definitions;
      for (let k = 0; k < 2; k++) {
        expect(first.sourceHash).toMatch(/^[0-9a-f]{64}$/);
        expect(first.checksum).toBe(checksums.classChecksum(candidates[0].type));
        expect(first.storedSourceHash).toBe(first.sourceHash);
      }
      expect(sourceHash).toHaveBeenCalledTimes(1);
      expect(fingerprint).toHaveBeenCalledTimes(1);
    } finally {
      fingerprint.mockRestore();
      sourceHash.mockRestore();
    }
  });
});

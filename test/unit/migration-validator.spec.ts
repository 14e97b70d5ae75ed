import type { Type } from '@nestjs/common';
import type { MigrationCandidate } from '../../src/auto-migration/discovery/migration-definition';
import { compareNames, validateMigrations } from '../../src/auto-migration/discovery/migration-validator';
import { AutoMigrationError, DuplicateMigrationError, InvalidMigrationError, MixedPrefixWidthError } from '../../src/auto-migration/errors';
import { thrown } from '../helpers/thrown';

/** A named class with an `up` method (or without one). */
function migrationClass(className: string, withUp = true): Type<unknown> {
  const body = withUp ? `up(db) { db.exec(${JSON.stringify(`-- ${className}`)}); }` : 'down(db) {}';
  return new Function(`return class ${className} { ${body} };`)() as Type<unknown>;
}

function candidate(type: Type<unknown>, metadata: unknown, overrides: Partial<Pick<MigrationCandidate, 'isSingleton' | 'instance'>> = {}): MigrationCandidate {
  const instance = new type();
  return { type, metadata, isSingleton: true, instance: () => instance, ...overrides };
}

/** A valid candidate with its own class named after the migration. */
function valid(name: string, extra: Record<string, unknown> = {}): MigrationCandidate {
  const className = 'M_' + name.replace(/[^A-Za-z0-9_]/g, '_');
  return candidate(migrationClass(className), { name, version: '1.0.0', ...extra });
}

describe('validateMigrations', () => {
  describe('ordering', () => {
    it('sorts by code unit order, not in the order given', () => {
      const names = validateMigrations(['010_b', '002_a', '001_Z', '001_a'].map((n) => valid(n))).map((d) => d.name);
      expect(names).toEqual(['001_Z', '001_a', '002_a', '010_b']);
    });

    it('never uses locale-aware order (which would put 001_a before 001_Z)', () => {
      const input = ['001_a', '001_Z', '001_B', '001_b'];
      const localeOrder = [...input].sort((a, b) => a.localeCompare(b));
      const codeUnitOrder = ['001_B', '001_Z', '001_a', '001_b'];
      // the case discriminates: a locale-aware sort would give a different order
      expect(localeOrder).not.toEqual(codeUnitOrder);

      expect(validateMigrations(input.map((n) => valid(n))).map((d) => d.name)).toEqual(codeUnitOrder);
      expect(validateMigrations([...input].reverse().map((n) => valid(n))).map((d) => d.name)).toEqual(codeUnitOrder);
    });

    it('orders "-" (0x2d) before "_" (0x5f) as code units do', () => {
      const names = validateMigrations([valid('001_x'), valid('001-x')]).map((d) => d.name);
      expect(names).toEqual(['001-x', '001_x']);
    });

    it('compareNames is a code unit comparison', () => {
      expect(compareNames('001_Z', '001_a')).toBeLessThan(0);
      expect(compareNames('001_a', '001_Z')).toBeGreaterThan(0);
      expect(compareNames('001_a', '001_a')).toBe(0);
    });

    it('returns an empty list for no candidates', () => {
      expect(validateMigrations([])).toEqual([]);
    });
  });

  describe('definitions', () => {
    it('fills defaults: transaction true, description ""', () => {
      const [def] = validateMigrations([valid('001_a')]);
      expect(def).toMatchObject({ name: '001_a', version: '1.0.0', description: '', transaction: true, className: 'M_001_a' });
    });

    it('keeps given description and transaction: false', () => {
      const [def] = validateMigrations([valid('001_a', { description: 'Create users', transaction: false })]);
      expect(def.description).toBe('Create users');
      expect(def.transaction).toBe(false);
    });

    it('instance() returns the candidate instance', () => {
      const type = migrationClass('WithInstance');
      const inst = new type();
      const [def] = validateMigrations([candidate(type, { name: '001_a', version: '1.0.0' }, { instance: () => inst })]);
      expect(def.instance()).toBe(inst);
    });

    it('accepts pre-release semantic versions', () => {
      expect(() => validateMigrations([valid('001_a', { version: '2.0.0-beta.1' })])).not.toThrow();
    });

    it('accepts timestamp prefixes of equal width and sorts them', () => {
      const names = validateMigrations([valid('20261128130000_add_index'), valid('20261128120000_create_users'), valid('20250101000000_init')]).map(
        (d) => d.name,
      );
      expect(names).toEqual(['20250101000000_init', '20261128120000_create_users', '20261128130000_add_index']);
    });
  });

  describe('the same class listed twice', () => {
    it('is de-duplicated into one definition', () => {
      const type = migrationClass('Twice');
      const meta = { name: '001_twice', version: '1.0.0' };
      const defs = validateMigrations([candidate(type, meta), candidate(type, meta), valid('002_other')]);
      expect(defs.map((d) => d.name)).toEqual(['001_twice', '002_other']);
    });
  });

  describe('duplicate names', () => {
    it('two classes with the same name raise DuplicateMigrationError naming both classes', () => {
      const error = thrown(() =>
        validateMigrations([
          candidate(migrationClass('CreateUsers'), { name: '001_create_users', version: '1.0.0' }),
          valid('002_ok'),
          candidate(migrationClass('CreateUsersAgain'), { name: '001_create_users', version: '1.1.0' }),
        ]),
      );
      expect(error).toBeInstanceOf(DuplicateMigrationError);
      expect(error).toBeInstanceOf(AutoMigrationError);
      expect((error as DuplicateMigrationError).code).toBe('DUPLICATE_MIGRATION');
      expect(error.message).toContain('CreateUsers');
      expect(error.message).toContain('CreateUsersAgain');
      expect(error.message).toContain('001_create_users');
      expect([...(error as DuplicateMigrationError).duplicates.get('001_create_users')!].sort()).toEqual(['CreateUsers', 'CreateUsersAgain']);
    });

    it('lists every duplicated name', () => {
      const error = thrown(() =>
        validateMigrations([
          candidate(migrationClass('A1'), { name: '001_a', version: '1.0.0' }),
          candidate(migrationClass('A2'), { name: '001_a', version: '1.0.0' }),
          candidate(migrationClass('B1'), { name: '002_b', version: '1.0.0' }),
          candidate(migrationClass('B2'), { name: '002_b', version: '1.0.0' }),
        ]),
      ) as DuplicateMigrationError;
      expect(error).toBeInstanceOf(DuplicateMigrationError);
      for (const word of ['001_a', '002_b', 'A1', 'A2', 'B1', 'B2']) expect(error.message).toContain(word);
    });
  });

  describe('invalid definitions', () => {
    const expectInvalid = (candidates: MigrationCandidate[], ...fragments: string[]): InvalidMigrationError => {
      const error = thrown(() => validateMigrations(candidates)) as InvalidMigrationError;
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error).toBeInstanceOf(AutoMigrationError);
      expect(error.code).toBe('INVALID_MIGRATION');
      for (const f of fragments) expect(error.message).toContain(f);
      return error;
    };

    it.each([
      ['1.0', '"1.0"'],
      ['v1.0.0', '"v1.0.0"'],
      ['abc', '"abc"'],
      ['', '""'],
      [' 1.0.0', '" 1.0.0"'],
      ['1.0.0.0', '"1.0.0.0"'],
    ])('refuses version %j, naming the class and the version', (version, shown) => {
      expectInvalid([candidate(migrationClass('BadVersion'), { name: '001_a', version })], 'BadVersion', shown);
    });

    it('refuses a missing version', () => {
      expectInvalid([candidate(migrationClass('NoVersion'), { name: '001_a' })], 'NoVersion', 'version');
    });

    it('refuses a numeric version', () => {
      expectInvalid([candidate(migrationClass('NumVersion'), { name: '001_a', version: 1 })], 'NumVersion', 'version');
    });

    it('refuses a class without up()', () => {
      expectInvalid([candidate(migrationClass('NoUp', false), { name: '001_a', version: '1.0.0' })], 'NoUp', 'up');
    });

    it.each([['create_users'], ['001 create users'], ['001/create_users'], ['001_a/b'], ['x001_a'], [''], ['_001']])(
      'refuses name %j, naming the class',
      (name) => {
        expectInvalid([candidate(migrationClass('BadName'), { name, version: '1.0.0' })], 'BadName', JSON.stringify(name));
      },
    );

    it('refuses a missing or non-string name', () => {
      expectInvalid([candidate(migrationClass('NoName'), { version: '1.0.0' })], 'NoName', 'name');
      expectInvalid([candidate(migrationClass('NumName'), { name: 1, version: '1.0.0' })], 'NumName', 'name');
    });

    it('refuses an over-long name', () => {
      expectInvalid([candidate(migrationClass('LongName'), { name: '001_' + 'x'.repeat(300), version: '1.0.0' })], 'LongName');
    });

    it('refuses missing metadata', () => {
      expectInvalid([candidate(migrationClass('NoMeta'), undefined)], 'NoMeta');
    });

    it('refuses wrongly typed description, transaction and checksum', () => {
      const error = expectInvalid(
        [candidate(migrationClass('BadFields'), { name: '001_a', version: '1.0.0', description: 3, transaction: 'no', checksum: '' })],
        'BadFields',
        'description',
        'transaction',
        'checksum',
      );
      expect(error.problems).toHaveLength(3);
    });

    it('refuses a non-singleton provider, naming the class', () => {
      expectInvalid([candidate(migrationClass('Scoped'), { name: '001_a', version: '1.0.0' }, { isSingleton: false })], 'Scoped', 'singleton');
    });

    it('lists every problem of several classes in one error', () => {
      const error = expectInvalid(
        [
          candidate(migrationClass('First'), { name: 'create_users', version: '1.0.0' }),
          valid('002_fine'),
          candidate(migrationClass('Second'), { name: '003_b', version: '1.0' }),
          candidate(migrationClass('Third', false), { name: '004_c', version: '1.0.0' }),
          candidate(migrationClass('Fourth'), { name: '005_d', version: '1.0.0' }, { isSingleton: false }),
        ],
        'First',
        'Second',
        'Third',
        'Fourth',
      );
      expect(error.problems).toHaveLength(4);
      expect(error.message).not.toContain('M_002_fine');
    });

    it('lists several problems of one class', () => {
      const error = expectInvalid([candidate(migrationClass('Many', false), { name: 'nope', version: 'x' }, { isSingleton: false })], 'Many');
      expect(error.problems).toHaveLength(4);
      for (const p of error.problems) expect(p).toContain('Many');
    });
  });

  describe('prefix widths', () => {
    it('refuses mixed widths with MixedPrefixWidthError naming both', () => {
      const error = thrown(() => validateMigrations([valid('2_x'), valid('10_y')])) as MixedPrefixWidthError;
      expect(error).toBeInstanceOf(MixedPrefixWidthError);
      expect(error).toBeInstanceOf(AutoMigrationError);
      expect(error.code).toBe('MIXED_PREFIX_WIDTH');
      expect(error.message).toContain('2_x');
      expect(error.message).toContain('10_y');
      expect([...error.byWidth.keys()]).toEqual([1, 2]);
    });

    it('refuses a timestamp prefix beside a short numeric one', () => {
      const error = thrown(() => validateMigrations([valid('001_a'), valid('20261128120000_b')]));
      expect(error).toBeInstanceOf(MixedPrefixWidthError);
      expect(error.message).toContain('001_a');
      expect(error.message).toContain('20261128120000_b');
    });

    it('accepts equal widths', () => {
      expect(() => validateMigrations([valid('02_x'), valid('10_y')])).not.toThrow();
    });
  });
});

describe('validateMigrations: review fixes', () => {
  it('accepts a version with build metadata', () => {
    expect(validateMigrations([valid('001_a', { version: '1.0.0+build.5' })])[0].version).toBe('1.0.0+build.5');
  });

  it.each([['v1.0.0'], [' 1.0.0'], ['1.0'], ['=1.0.0']])('still refuses %j', (version) => {
    expect(() => validateMigrations([valid('001_a', { version })])).toThrow(InvalidMigrationError);
  });

  it('explains that up must be a method, not an arrow-function property', () => {
    const Arrow = new Function('return class Arrow { constructor() { this.up = (db) => {}; } };')() as Type<unknown>;
    expect(() => validateMigrations([candidate(Arrow, { name: '001_arrow', version: '1.0.0' })])).toThrow(/not as an arrow-function property/);
  });
});

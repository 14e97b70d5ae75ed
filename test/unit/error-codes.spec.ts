import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as publicApi from '../../src/auto-migration';

const ERRORS = join(__dirname, '../../src/auto-migration/errors');

/** Each error class of the errors folder with the code it declares, read from its source. */
function declaredCodes(): { className: string; code: string }[] {
  return readdirSync(ERRORS)
    .filter((file) => file.endsWith('.error.ts') && file !== 'auto-migration.error.ts')
    .map((file) => {
      const text = readFileSync(join(ERRORS, file), 'utf8');
      const className = /export class (\w+Error) extends AutoMigrationError/.exec(text)?.[1];
      const code = /readonly code = '([A-Z_]+)'/.exec(text)?.[1];
      if (!className || !code) throw new Error(`${file}: no error class with a code`);
      return { className, code };
    });
}

describe('error codes', () => {
  it("every error class's code is its name in upper snake case, without Error", () => {
    const mismatched = declaredCodes().filter(
      ({ className, code }) =>
        className
          .replace(/Error$/, '')
          .replace(/([a-z])([A-Z])/g, '$1_$2')
          .toUpperCase() !== code,
    );
    expect(mismatched).toEqual([]);
  });

  it('AUTO_MIGRATION_ERROR_CODES lists exactly the codes of the error classes, each class exported', () => {
    const declared = declaredCodes();
    expect([...publicApi.AUTO_MIGRATION_ERROR_CODES].sort()).toEqual(declared.map((d) => d.code).sort());
    const exported = new Set(Object.keys(publicApi));
    expect(declared.map((d) => d.className).filter((name) => !exported.has(name))).toEqual([]);
  });
});

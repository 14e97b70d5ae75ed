import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { declaredMigrations, findUnregisteredMigrations } from '../../src/auto-migration/cli/unregistered-migrations';
import { tempDir } from '../helpers/temp-dir';

/* Reading `@Migration()` classes from a file's text, as `status` does for its warning. */

describe('declaredMigrations', () => {
  it('reads the name and class of decorated classes in TypeScript source, whatever the layout', () => {
    const source = [
      "import { Injectable } from '@nestjs/common';",
      "import * as lib from 'nestjs-auto-migration';",
      '@Injectable()',
      '@lib.Migration({',
      "  description: 'has } and , name: \"x\" in it', // name: 'no'",
      '  "name": "002_forgotten",',
      '})',
      'export class Forgotten<T extends object = {}> implements MigrationInterface {',
      "  up(db: Database): void { db.exec(`CREATE TABLE t (a TEXT DEFAULT '/*')`); }",
      '}',
      '',
      "@Migration({ name: '003_second', version: '1.0.0', checksum: 'v1' }) @Other({ list: [1] })",
      'export default class Second {}',
    ].join('\n');
    expect(declaredMigrations(source)).toEqual([
      { name: '002_forgotten', className: 'Forgotten' },
      { name: '003_second', className: 'Second' },
    ]);
  });

  it("reads tsc's compiled __decorate calls", () => {
    const compiled = [
      'let Compiled = class Compiled {};',
      'exports.Compiled = Compiled = __decorate([',
      '    (0, common_1.Injectable)(),',
      "    (0, nestjs_auto_migration_1.Migration)({ name: '004_compiled', version: '1.0.0' }),",
      '    __metadata("design:paramtypes", [Object])',
      '], Compiled);',
    ].join('\n');
    expect(declaredMigrations(compiled)).toEqual([{ name: '004_compiled', className: 'Compiled' }]);
  });

  it('ignores comments, names that are not string literals, and look-alike decorators', () => {
    const source = [
      "// @Migration({ name: '001_line' })",
      "/* @Migration({ name: '002_block' }) */",
      "@Migration({ name: NAME, version: '1.0.0' }) export class FromConstant {}",
      '@Migration({ name: `00${n}_template` }) export class FromTemplate {}',
      "@AutoMigration({ name: '005_other' }) export class OtherDecorator {}",
    ].join('\n');
    expect(declaredMigrations(source)).toEqual([]);
  });
});

describe('findUnregisteredMigrations', () => {
  it('lists the files directly in the folder whose declared names are not registered', () => {
    const dir = tempDir('auto-migration-unregistered-');
    try {
      writeFileSync(dir.file('001_a.ts'), "@Migration({ name: '001_a', version: '1.0.0' })\nexport class A {}\n");
      writeFileSync(
        dir.file('002_b.ts'),
        "@Migration({ name: '002_b', version: '1.0.0' })\nexport class B {}\n@Migration({ name: '002_c', version: '1.0.0' })\nexport class C {}\n",
      );
      writeFileSync(dir.file('002_b.d.ts'), "@Migration({ name: '002_b', version: '1.0.0' })\nexport declare class B {}\n");
      writeFileSync(dir.file('003_d.sql'), "-- @Migration({ name: '003_d' })\n");
      mkdirSync(dir.file('nested'));
      writeFileSync(join(dir.path, 'nested', '004_e.ts'), "@Migration({ name: '004_e', version: '1.0.0' })\nexport class E {}\n");
      expect(findUnregisteredMigrations(dir.path, ['001_a', '002_c'])).toEqual([
        { file: dir.file('002_b.ts'), migrations: [{ name: '002_b', className: 'B' }] },
      ]);
      expect(findUnregisteredMigrations(dir.file('missing'), [])).toEqual([]);
    } finally {
      dir.remove();
    }
  });
});

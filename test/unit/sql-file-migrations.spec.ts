import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteDriver } from '../../src/auto-migration/driver/sqlite/sqlite-driver';
import { normalizeSqlText, sqlChecksum } from '../../src/auto-migration/discovery/migration-checksum';
import type { MigrationCandidate } from '../../src/auto-migration/discovery/migration-definition';
import { validateMigrations } from '../../src/auto-migration/discovery/migration-validator';
import { readSqlMigrations, type SqlMigrationFolder } from '../../src/auto-migration/discovery/sql-file-migrations';
import { containsSql, parseSqlFile } from '../../src/auto-migration/discovery/sql-header';
import { DuplicateMigrationError, InvalidMigrationError, MixedPrefixWidthError } from '../../src/auto-migration/errors';
import { tempDir } from '../helpers/temp-dir';
import { thrown } from '../helpers/thrown';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('parseSqlFile (the header of a .sql migration)', () => {
  it('reads version, description and transaction', () => {
    const parsed = parseSqlFile('-- version: 1.4.0\n-- description: Add tags\n-- transaction: false\nCREATE TABLE tags (id INTEGER);\n');
    expect(parsed).toEqual({ header: { version: '1.4.0', description: 'Add tags', transaction: false }, problems: [] });
  });

  it('leaves optional fields out, and trims values', () => {
    expect(parseSqlFile('--   version:   2.0.0-rc.1   \nSELECT 1;')).toEqual({ header: { version: '2.0.0-rc.1' }, problems: [] });
    expect(parseSqlFile('-- version: 1.0.0\n-- transaction: true\nSELECT 1;').header.transaction).toBe(true);
  });

  it('keeps the rest of a description, colons included', () => {
    expect(parseSqlFile('-- version: 1.0.0\n-- description: Tags: many-to-many, see https://x.test/t\nSELECT 1;').header.description).toBe(
      'Tags: many-to-many, see https://x.test/t',
    );
  });

  it('allows blank lines and free comments in the header (a URL is not a key)', () => {
    const text = '\n-- Adds the tag tables.\n-- See https://example.test/ticket/5\n\n-- version: 1.0.0\n\n-- description: tags\n\nCREATE TABLE t (id INTEGER);';
    expect(parseSqlFile(text)).toEqual({ header: { version: '1.0.0', description: 'tags' }, problems: [] });
  });

  it('ends the header at the first line that is not a -- comment: later fields are SQL comments', () => {
    const parsed = parseSqlFile('-- version: 1.0.0\nCREATE TABLE t (id INTEGER);\n-- description: too late\n-- bogus: ignored\n');
    expect(parsed).toEqual({ header: { version: '1.0.0' }, problems: [] });
    // A block comment is not part of the header either, so a version after it is not seen.
    expect(parseSqlFile('/* intro */\n-- version: 1.0.0\nSELECT 1;').problems).toEqual([expect.stringContaining('has no "-- version: 1.4.0" header')]);
  });

  it('refuses a missing version', () => {
    expect(parseSqlFile('-- description: x\nSELECT 1;').problems).toEqual([
      'has no "-- version: 1.4.0" header comment (the release that introduced the migration; required)',
    ]);
  });

  it.each(['1.0', 'v1.0.0', '01.0.0', 'latest', ''])('refuses version %j', (version) => {
    expect(parseSqlFile(`-- version: ${version}\nSELECT 1;`).problems).toEqual([
      `version ${JSON.stringify(version)} is not a semantic version such as "1.4.0"`,
    ]);
  });

  it('refuses an unknown key (a typo must not turn a field into a comment), and keys in another case', () => {
    const parsed = parseSqlFile('-- verison: 1.0.0\n-- Description: x\nSELECT 1;');
    expect(parsed.problems).toEqual([
      expect.stringMatching(/^unknown header key "verison" \(the header accepts version, description, transaction/),
      expect.stringMatching(/^unknown header key "Description"/),
      expect.stringContaining('has no "-- version: 1.4.0" header'),
    ]);
  });

  it('refuses a key given twice, and a transaction that is not true or false', () => {
    expect(parseSqlFile('-- version: 1.0.0\n-- version: 1.1.0\n-- transaction: no\nSELECT 1;').problems).toEqual([
      'header key "version" is given twice',
      'transaction must be true or false (got "no")',
    ]);
  });

  it('refuses a file with no SQL: empty, header only, or comments only', () => {
    expect(parseSqlFile('').problems).toContain('has no SQL after its header');
    expect(parseSqlFile('-- version: 1.0.0\n\n').problems).toEqual(['has no SQL after its header']);
    expect(parseSqlFile('-- version: 1.0.0\n/* nothing\n yet */\n-- later\n').problems).toEqual(['has no SQL after its header']);
  });
});

describe('containsSql', () => {
  it('ignores white space and comments only', () => {
    expect(containsSql('  \n-- a\n/* b\n c */\n')).toBe(false);
    expect(containsSql('SELECT 1 -- trailing')).toBe(true);
    expect(containsSql("/* a */ SELECT '--' /* b */")).toBe(true);
  });
});

describe('sqlChecksum', () => {
  it('is the SHA-256 of the text with LF line endings, whatever the line endings and BOM', () => {
    const lf = '-- version: 1.0.0\nCREATE TABLE t (id INTEGER);\n';
    expect(sqlChecksum(lf)).toBe(sha256(lf));
    expect(sqlChecksum(lf.replace(/\n/g, '\r\n'))).toBe(sha256(lf));
    expect(sqlChecksum(lf.replace(/\n/g, '\r'))).toBe(sha256(lf));
    expect(sqlChecksum(`\uFEFF${lf}`)).toBe(sha256(lf));
    expect(normalizeSqlText('a\r\nb\rc\n')).toBe('a\nb\nc\n');
  });

  it('changes with any other change, white space included', () => {
    const lf = 'CREATE TABLE t (id INTEGER);\n';
    expect(sqlChecksum(lf.replace('TABLE t', 'TABLE  t'))).not.toBe(sqlChecksum(lf));
    expect(sqlChecksum(lf.replace('INTEGER', 'TEXT'))).not.toBe(sqlChecksum(lf));
  });
});

describe('readSqlMigrations', () => {
  let dir: ReturnType<typeof tempDir>;
  let folder: string;
  beforeEach(() => {
    dir = tempDir();
    folder = dir.file('migrations');
    mkdirSync(folder);
  });
  afterEach(() => dir.remove());

  const write = (name: string, text: string) => writeFileSync(join(folder, name), text);
  const TAGS = '-- version: 1.4.0\n-- description: Add tags\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n';

  it('reads every .sql file as a migration named after it, labelled relative to the working directory', () => {
    write('005_add_tags.sql', TAGS);
    write('006_vacuum.sql', '-- version: 1.5.0\n-- transaction: false\nVACUUM;\n');
    const { files, problems } = readSqlMigrations(folder, dir.path);
    expect(problems).toEqual([]);
    expect(files.map(({ instance, ...f }) => f)).toEqual([
      {
        name: '005_add_tags',
        fileName: '005_add_tags.sql',
        label: join('migrations', '005_add_tags.sql'),
        version: '1.4.0',
        description: 'Add tags',
        transaction: true,
        text: TAGS,
        checksum: sha256(TAGS),
        down: null,
        problems: [],
      },
      expect.objectContaining({ name: '006_vacuum', version: '1.5.0', description: '', transaction: false }),
    ]);
  });

  it('labels files outside the working directory with their absolute path', () => {
    write('005_add_tags.sql', TAGS);
    expect(readSqlMigrations(folder, join(dir.path, 'elsewhere')).files[0].label).toBe(join(folder, '005_add_tags.sql'));
  });

  it('ignores other files, subfolders and broken links; follows a link to a file', () => {
    write('005_add_tags.sql', TAGS);
    write('README.md', '# migrations');
    write('.gitkeep', '');
    write('005_add_tags.sql.bak', 'garbage');
    mkdirSync(join(folder, 'old'));
    writeFileSync(join(folder, 'old', '001_old.sql'), 'not even SQL');
    mkdirSync(join(folder, '009_folder.sql'));
    symlinkSync(join(folder, 'missing.sql'), join(folder, '008_broken.sql'));
    writeFileSync(dir.file('shared.sql'), '-- version: 1.0.0\nSELECT 1;');
    symlinkSync(dir.file('shared.sql'), join(folder, '007_linked.sql'));
    const { files, problems } = readSqlMigrations(folder, dir.path);
    expect(problems).toEqual([]);
    expect(files.map((f) => f.name)).toEqual(['005_add_tags', '007_linked']);
  });

  it('pairs <name>.down.sql with <name>.sql as its down (whose header is not read)', () => {
    write('005_add_tags.sql', TAGS);
    write('005_add_tags.down.sql', 'DROP TABLE tags;\r\n');
    const [file] = readSqlMigrations(folder, dir.path).files;
    expect(file.down).toBe('DROP TABLE tags;\n');
    expect(file.checksum).toBe(sha256(TAGS));
  });

  it('gives the instance an up that runs the whole text and a down only when a down file exists', async () => {
    write(
      '005_add_tags.sql',
      `${TAGS}CREATE TABLE log (msg TEXT);\nCREATE TRIGGER tags_log AFTER INSERT ON tags BEGIN\n  INSERT INTO log VALUES ('a;b');\n  INSERT INTO log VALUES ('c');\nEND;\n`,
    );
    write('005_add_tags.down.sql', 'DROP TABLE log;\nDROP TABLE tags;\n');
    write('006_plain.sql', '-- version: 1.0.0\nCREATE TABLE plain (id INTEGER);\n');
    const [tags, plain] = readSqlMigrations(folder, dir.path).files;
    expect(typeof plain.instance.down).toBe('undefined');
    const db = new BetterSqlite3(':memory:');
    // The SQLite driver registers how a script runs on the connections it hands to up(db).
    new SqliteDriver(db).runsScripts();
    try {
      await tags.instance.up(db);
      db.exec('INSERT INTO tags DEFAULT VALUES');
      expect(db.prepare('SELECT msg FROM log ORDER BY rowid').pluck().all()).toEqual(['a;b', 'c']);
      expect(typeof tags.instance.down).toBe('function');
      await tags.instance.down!(db);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('reports a down file without its migration, and a .SQL extension', () => {
    write('005_add_tags.down.sql', 'DROP TABLE tags;');
    write('006_x.SQL', TAGS);
    const { files, problems } = readSqlMigrations(folder, dir.path);
    expect(files).toEqual([]);
    expect(problems).toEqual([
      `${join('migrations', '006_x.SQL')}: use the lower-case extension ".sql"`,
      `${join('migrations', '005_add_tags.down.sql')}: down file without its migration "005_add_tags.sql" (add it, or remove this file)`,
    ]);
  });

  it('labels every problem of a file with its path, including an empty down file', () => {
    write('005_add_tags.sql', '-- verison: 1.4.0\nCREATE TABLE tags (id INTEGER);');
    write('005_add_tags.down.sql', '-- nothing to undo\n');
    const label = join('migrations', '005_add_tags.sql');
    expect(readSqlMigrations(folder, dir.path).files[0].problems).toEqual([
      expect.stringMatching(new RegExp(`^${escape(label)}: unknown header key "verison"`)),
      `${label}: has no "-- version: 1.4.0" header comment (the release that introduced the migration; required)`,
      `${join('migrations', '005_add_tags.down.sql')}: has no SQL`,
    ]);
  });

  it('reports a missing folder, or a file given as the folder, naming the path', () => {
    expect(readSqlMigrations(dir.file('nope'), dir.path)).toEqual({
      files: [],
      problems: [`migrationsDir: the folder "${dir.file('nope')}" does not exist (create it, or correct the option)`],
    });
    write('001_a.sql', TAGS);
    expect(readSqlMigrations(join(folder, '001_a.sql'), dir.path).problems).toEqual([`migrationsDir: "${join(folder, '001_a.sql')}" is not a folder`]);
  });
});

describe('validateMigrations with .sql files', () => {
  function classCandidate(className: string, name: string): MigrationCandidate {
    const type = new Function(`return class ${className} { up(db) {} };`)() as Type<unknown>;
    const instance = new type();
    return { type, metadata: { name, version: '1.0.0' }, isSingleton: true, instance: () => instance };
  }

  function folderOf(files: Record<string, string>): SqlMigrationFolder {
    const dir = tempDir();
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(dir.file(name), text);
      return readSqlMigrations(dir.path, dir.path);
    } finally {
      dir.remove();
    }
  }

  it('merges files and classes into one list in code-unit order, marking where each comes from', () => {
    const sql = folderOf({ '002_b.sql': '-- version: 1.2.0\n-- description: B\nSELECT 1;', '001_Z.sql': '-- version: 1.0.0\nSELECT 1;' });
    const definitions = validateMigrations([classCandidate('C003', '003_c'), classCandidate('C001', '001_a')], sql);
    expect(definitions.map((d) => [d.name, d.source, d.className])).toEqual([
      ['001_Z', 'sql', '001_Z.sql'],
      ['001_a', 'class', 'C001'],
      ['002_b', 'sql', '002_b.sql'],
      ['003_c', 'class', 'C003'],
    ]);
    expect(definitions[2]).toMatchObject({
      version: '1.2.0',
      description: 'B',
      transaction: true,
      foreignKeys: 'check',
      sourceHash: null,
      file: '002_b.sql',
      checksum: sha256('-- version: 1.2.0\n-- description: B\nSELECT 1;'),
    });
    expect(definitions[2].instance()).toBe(definitions[2].instance());
  });

  it('refuses a class and a file of the same name, naming both', () => {
    const error = thrown(() =>
      validateMigrations([classCandidate('AddTags', '005_add_tags')], folderOf({ '005_add_tags.sql': '-- version: 1.0.0\nSELECT 1;' })),
    );
    expect(error).toBeInstanceOf(DuplicateMigrationError);
    expect(error.message).toContain('"005_add_tags" is declared by AddTags and 005_add_tags.sql');
  });

  it('applies the prefix-width rule across classes and files', () => {
    const error = thrown(() => validateMigrations([classCandidate('C', '10_y')], folderOf({ '2_x.sql': '-- version: 1.0.0\nSELECT 1;' })));
    expect(error).toBeInstanceOf(MixedPrefixWidthError);
    expect(error.message).toContain('1 digit: 2_x');
  });

  it('reports every problem of classes, the folder and the files in one error, file names included', () => {
    const bad = classCandidate('BadClass', 'no_prefix');
    const sql = folderOf({
      'add_tags.sql': '-- version: 1.0.0\nSELECT 1;',
      '003_noversion.sql': 'SELECT 1;',
      '004_orphan.down.sql': 'SELECT 1;',
    });
    const error = thrown(() => validateMigrations([bad], sql)) as InvalidMigrationError;
    expect(error).toBeInstanceOf(InvalidMigrationError);
    expect(error.problems).toEqual([
      expect.stringMatching(/^BadClass: name "no_prefix" must start with a numeric/),
      '004_orphan.down.sql: down file without its migration "004_orphan.sql" (add it, or remove this file)',
      expect.stringMatching(/^003_noversion\.sql: has no "-- version: 1\.4\.0" header comment/),
      expect.stringMatching(/^add_tags\.sql: name "add_tags" must start with a numeric/),
    ]);
  });

  it('is unchanged without a folder', () => {
    expect(validateMigrations([classCandidate('C', '001_a')]).map((d) => d.source)).toEqual(['class']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

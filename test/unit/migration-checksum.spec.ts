import type { Type } from '@nestjs/common';
import { classChecksum, classFingerprint, classSourceHash, sqlChecksum } from '../../src/auto-migration/discovery/migration-checksum';
import type { MigrationCandidate } from '../../src/auto-migration/discovery/migration-definition';
import { validateMigrations } from '../../src/auto-migration/discovery/migration-validator';
import { compileModule, TWO_BUILDS } from '../helpers/compile';

/**
 * Builds a class from exact JavaScript source, so the test controls the text that
 * Function.prototype.toString() returns (the TypeScript compiler would reprint it otherwise).
 */
function cls(source: string, parent?: Type<unknown>): Type<unknown> {
  return new Function('Parent', `"use strict"; return (${source});`)(parent) as Type<unknown>;
}

const sum = (source: string, parent?: Type<unknown>) => classChecksum(cls(source, parent));

const BASE = `class CreateUsers {
  up(db) {
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
  }
  down(db) {
    db.exec('DROP TABLE users');
  }
}`;

describe('classChecksum', () => {
  it('is 64 lower-case hex characters (SHA-256)', () => {
    expect(sum(BASE)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the same when the same TypeScript source is compiled twice, with different targets and comment settings', () => {
    const source = `
      /** Adds the users table. */
      export class CreateUsers {
        // why: lookups by e-mail
        async up(db: { exec(sql: string): void }): Promise<void> {
          await Promise.resolve();
          db.exec(\`CREATE TABLE users (
            id INTEGER PRIMARY KEY, /* surrogate */ email TEXT NOT NULL UNIQUE
          )\`);
        }
        down(db: { exec(sql: string): void }): void {
          db.exec('DROP TABLE users'); // reversible
        }
      }`;
    const [first, second] = TWO_BUILDS.map((options) => compileModule(source, options));
    // Two real compilations: different JavaScript, two distinct classes...
    expect(first.js).not.toBe(second.js);
    expect(first.exports.CreateUsers).not.toBe(second.exports.CreateUsers);
    expect(classSourceHash(first.exports.CreateUsers)).not.toBe(classSourceHash(second.exports.CreateUsers));
    // ...and one checksum.
    expect(classChecksum(first.exports.CreateUsers)).toBe(classChecksum(second.exports.CreateUsers));
  });

  describe('does not change when only formatting or comments change', () => {
    it('comments (line, block, JSDoc)', () => {
      const commented = `class CreateUsers {
  /** Creates the users table. */
  up(db) {
    // the table
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)'); /* done */
  }
  /* reverse */
  down(db) {
    db.exec('DROP TABLE users'); // gone
  }
}`;
      expect(sum(commented)).toBe(sum(BASE));
    });

    it('indentation, spacing and newlines', () => {
      const reformatted = `class CreateUsers {
        up (db)
        {
              db.exec(
                'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)'
              ) ;
        }

        down( db ) { db.exec( 'DROP TABLE users' ) ; }
      }`;
      expect(sum(reformatted)).toBe(sum(BASE));
    });

    it('re-indenting SQL inside a template literal', () => {
      const a = 'class M { up(db) { db.exec(`\n  CREATE TABLE t (\n    id INTEGER PRIMARY KEY,\n    name TEXT\n  )`); } }';
      const b =
        'class M { up(db) {\n      db.exec(`\n          CREATE TABLE t (\n              id   INTEGER PRIMARY KEY,\n              name TEXT\n          )`);\n    }\n}';
      expect(sum(a)).toBe(sum(b));
    });
  });

  describe('changes when the code changes', () => {
    it('a different SQL statement', () => {
      expect(sum(BASE.replace('email TEXT NOT NULL', 'email TEXT'))).not.toBe(sum(BASE));
    });

    it('a changed word inside a SQL template literal', () => {
      const a = 'class M { up(db) { db.exec(`CREATE TABLE t (id INTEGER)`); } }';
      expect(sum(a.replace('INTEGER', 'TEXT'))).not.toBe(sum(a));
    });

    it('a different identifier', () => {
      expect(sum(BASE.replace('up(db) {\n    db.exec', 'up(conn) {\n    conn.exec'))).not.toBe(sum(BASE));
    });

    it('an added statement', () => {
      const added = BASE.replace("NOT NULL)');", "NOT NULL)');\n    db.exec('CREATE INDEX idx_users_email ON users (email)');");
      expect(added).not.toBe(BASE);
      expect(sum(added)).not.toBe(sum(BASE));
    });

    it('an added method', () => {
      const added = BASE.replace(/}\s*$/, '  helper() { return 1; }\n}');
      expect(sum(added)).not.toBe(sum(BASE));
    });
  });

  it('does not depend on the order in which methods are declared', () => {
    const reordered = `class CreateUsers {
  down(db) {
    db.exec('DROP TABLE users');
  }
  up(db) {
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
  }
}`;
    expect(sum(reordered)).toBe(sum(BASE));
  });

  it('counts the constructor and field initialisers, so SQL kept in a field is covered', () => {
    const a = 'class M { constructor(svc) { this.svc = svc; this.sql = "CREATE TABLE a (id INTEGER)"; } up(db) { db.exec(this.sql); } }';
    const b = 'class M { constructor(svc) { this.svc = svc; this.sql = "CREATE TABLE b (id INTEGER)"; } up(db) { db.exec(this.sql); } }';
    const reformatted = `class M {
      constructor(svc) {
        this.svc = svc; // injected
        this.sql = "CREATE TABLE a (id INTEGER)";
      }
      up(db) { db.exec(this.sql); }
    }`;
    expect(sum(a)).not.toBe(sum(b));
    expect(sum(reformatted)).toBe(sum(a));
  });

  it('does not depend on the class name', () => {
    expect(sum(BASE.replace('class CreateUsers', 'class AddUsersTable'))).toBe(sum(BASE));
  });

  it('counts getter (and setter) sources', () => {
    const a = 'class M { get sql() { return "CREATE TABLE a (id INTEGER)"; } up(db) { db.exec(this.sql); } }';
    const b = 'class M { get sql() { return "CREATE TABLE b (id INTEGER)"; } up(db) { db.exec(this.sql); } }';
    expect(sum(a)).not.toBe(sum(b));

    const s1 = 'class M { set v(x) { this._v = x; } up(db) {} }';
    const s2 = 'class M { set v(x) { this._v = x + 1; } up(db) {} }';
    expect(sum(s1)).not.toBe(sum(s2));
  });

  describe('inheritance', () => {
    const parent1 = cls('class Base { helper(db) { db.exec("CREATE TABLE a (id INTEGER)"); } }');
    const parent2 = cls('class Base { helper(db) { db.exec("CREATE TABLE b (id INTEGER)"); } }');
    const child = 'class M extends Parent { up(db) { this.helper(db); } }';

    it('methods inherited from a parent class count', () => {
      expect(sum(child, parent1)).not.toBe(sum(child, parent2));
      expect(sum(child, parent1)).not.toBe(sum('class M { up(db) { this.helper(db); } }'));
    });

    it('a formatting-only change in the parent does not count', () => {
      const parent1b = cls('class Base {\n  helper(db) {\n    // a\n    db.exec( "CREATE TABLE a (id INTEGER)" );\n  }\n}');
      expect(sum(child, parent1)).toBe(sum(child, parent1b));
    });

    it('a method overridden by the child is taken from the child only', () => {
      const p1 = cls('class Base { up(db) { db.exec("one"); } }');
      const p2 = cls('class Base { up(db) { db.exec("two"); } }');
      const overriding = 'class M extends Parent { up(db) { db.exec("mine"); } }';
      expect(sum(overriding, p1)).toBe(sum(overriding, p2));
    });
  });

  it('works on ordinary TypeScript-compiled classes', () => {
    class A {
      up(db: { exec(sql: string): void }): void {
        db.exec('SELECT 1');
      }
    }
    class B {
      up(db: { exec(sql: string): void }): void {
        db.exec('SELECT 2');
      }
    }
    expect(classChecksum(A)).toMatch(/^[0-9a-f]{64}$/);
    expect(classChecksum(A)).not.toBe(classChecksum(B));
  });
});

describe('stored values stay what earlier releases wrote', () => {
  // Checksums and source hashes live in users' history tables: a faster implementation must
  // still produce these, computed by the implementation released before it.
  const parent = cls(
    `class Base { constructor() { this.table = 'posts'; } up(db) { db.exec(\`CREATE TABLE \${this.table} (id INTEGER)\`); } get sql() { return "x"; } }`,
  );
  const child = cls(`class AddIndex extends Parent { down(db) { /* undo */ db.exec('DROP INDEX i'); } }`, parent);
  const outside = cls(`class Outside { up(db) {} }`);
  // Built from source text too, so the pinned value does not depend on how ts-jest compiles this file.
  (outside.prototype as { down?: unknown }).down = cls(`function down(db) { db.exec('DROP TABLE t'); }`);

  it.each([
    [
      'a plain class',
      cls(BASE),
      'a5e429c2f662ba68a3a747e77f50f9b5891064a05e3ba38f61d228ff0ec2af0d',
      '912439206cae809b64e283a71ed10b0a6fca2f7bc1f0b74b73d930ab6189b53f',
    ],
    [
      'a subclass with a getter and a constructor up its chain',
      child,
      '2c2e028dd56125dd3a3c8c8604d2f89cf0421591cc706015616d92da25a62ded',
      '7a48fa8fc1278378857dc2d1de35f2e809190bf174d02db4fb67d092c840c95a',
    ],
  ])('%s', (_, type, checksum, sourceHash) => {
    expect(classChecksum(type)).toBe(checksum);
    expect(classSourceHash(type)).toBe(sourceHash);
    expect(classFingerprint(type)).toEqual({ checksum, storedSourceHash: sourceHash });
  });

  it('a class with a method assigned outside its body: its checksum, and no source hash to store', () => {
    expect(classFingerprint(outside)).toEqual({ checksum: '57c452315c0c8a46f7560c9e79b03620f83e2bbd4a46787a8659ca9bbf1e778d', storedSourceHash: null });
  });

  it('a .sql file, byte-order mark and CRLF included', () => {
    expect(sqlChecksum('\uFEFFCREATE TABLE a (id INTEGER);\r\n')).toBe('55b5db57dee6d81a9fdc1aefc06250ac686ca61587be00ef8a1f6e2510f1f821');
  });
});

describe('checksum in validateMigrations', () => {
  const candidate = (type: Type<unknown>, metadata: object): MigrationCandidate => ({
    type,
    metadata,
    isSingleton: true,
    instance: () => new type(),
  });

  it('uses the derived class checksum when the decorator gives none', () => {
    const type = cls(BASE);
    const [def] = validateMigrations([candidate(type, { name: '001_a', version: '1.0.0' })]);
    expect(def.checksum).toBe(classChecksum(type));
    expect(def.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uses an explicit decorator checksum as is', () => {
    const type = cls(BASE);
    const [def] = validateMigrations([candidate(type, { name: '001_a', version: '1.0.0', checksum: 'pinned-v1 (not hex)' })]);
    expect(def.checksum).toBe('pinned-v1 (not hex)');
  });
});

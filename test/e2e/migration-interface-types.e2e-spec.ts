import { emitDeclarations, STRICT_APP, typeCheck, type TypeDiagnostic } from '../helpers/type-check';

/*
 * `MigrationInterface` as a user's strict compiler sees it through the package's declarations:
 * an SQLite migration written as the README shows (`implements MigrationInterface`, `up(db: Database)`)
 * compiles unchanged, and the type argument names another driver's connection.
 */

jest.setTimeout(120_000);

/** A networked client's connection, shaped like pg's PoolClient. */
const POOL_CLIENT = 'interface PoolClientLike { query(sql: string): Promise<unknown> }';

const ACCEPTED = `
import type { Database } from 'better-sqlite3';
import { Migration, type MigrationInterface } from 'nestjs-auto-migration';

${POOL_CLIENT}

@Migration({ name: '001_without_type_argument', version: '1.0.0' })
export class A implements MigrationInterface {
  up(db: Database): void {
    db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY)');
  }
  down(db: Database): void {
    db.exec('DROP TABLE a');
  }
}

@Migration({ name: '002_sqlite_type_argument', version: '1.0.0' })
export class B implements MigrationInterface<Database> {
  up(db: Database): void {
    db.prepare('INSERT INTO a (id) VALUES (?)').run(1);
  }
}

@Migration({ name: '003_pool_client', version: '1.0.0' })
export class C implements MigrationInterface<PoolClientLike> {
  async up(db: PoolClientLike): Promise<void> {
    await db.query('CREATE TABLE c (id serial PRIMARY KEY)');
  }
  async down(db: PoolClientLike): Promise<void> {
    await db.query('DROP TABLE c');
  }
}
`;

const REJECTED = `
import type { MigrationInterface } from 'nestjs-auto-migration';

${POOL_CLIENT}

export class D implements MigrationInterface<PoolClientLike> {
  up(n: number): void {
    void n;
  }
}
`;

/** An app on another database: it has neither better-sqlite3 nor its types. */
const WITHOUT_SQLITE = `
import { Migration, type MigrationInterface } from 'nestjs-auto-migration';

${POOL_CLIENT}

@Migration({ name: '001_pool_client', version: '1.0.0' })
export class CreateUsers implements MigrationInterface<PoolClientLike> {
  async up(db: PoolClientLike): Promise<void> {
    await db.query('CREATE TABLE users (id serial PRIMARY KEY)');
  }
}
`;

/** Proves that app really lacks them: naming the client's types there fails. */
const NAMES_SQLITE = `
import type { Database } from 'better-sqlite3';

export type Connection = Database;
`;

describe('MigrationInterface in a strict consumer', () => {
  let diagnostics: Record<string, TypeDiagnostic[]>;
  let withoutSqlite: Record<string, TypeDiagnostic[]>;

  beforeAll(() => {
    const declarations = emitDeclarations();
    withoutSqlite = typeCheck({ 'app-without-sqlite.ts': WITHOUT_SQLITE, 'names-sqlite.ts': NAMES_SQLITE }, declarations, STRICT_APP, {
      without: ['better-sqlite3'],
    });
    diagnostics = typeCheck({ 'accepted-migrations.ts': ACCEPTED, 'rejected-migration.ts': REJECTED }, declarations, STRICT_APP);
  });

  it('compiles up(db: Database) with and without the type argument, and a PoolClient-like connection whose up awaits db.query', () => {
    expect(diagnostics['accepted-migrations.ts']).toEqual([]);
  });

  it("rejects an up() whose parameter is not the type argument's connection (TS2416)", () => {
    expect(diagnostics['rejected-migration.ts']).toEqual([
      expect.objectContaining({ code: 2416, message: expect.stringContaining("Property 'up' in type 'D'") }),
    ]);
  });

  it('ships declarations that a strict compiler without skipLibCheck accepts', () => {
    expect(diagnostics.declarations).toEqual([]);
  });

  it('compiles, declarations included, in an app that has neither better-sqlite3 nor its types', () => {
    expect(withoutSqlite['names-sqlite.ts']).toEqual([expect.objectContaining({ code: 2307 })]);
    expect(withoutSqlite['app-without-sqlite.ts']).toEqual([]);
    expect(withoutSqlite.declarations).toEqual([]);
  });
});

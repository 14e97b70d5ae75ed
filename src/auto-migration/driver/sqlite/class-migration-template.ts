/** A new `@Migration()` class for a SQLite database, with `up` and `down` on better-sqlite3's `Database`, as in docs/writing-migrations.md. */
export function classMigrationSource(input: { name: string; className: string; version: string }): string {
  return `import type { Database } from 'better-sqlite3';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '${input.name}', version: '${input.version}', description: '' })
export class ${input.className} implements MigrationInterface {
  up(db: Database): void {
    // db.exec('CREATE TABLE ...');
  }

  down(db: Database): void {
    // db.exec('DROP TABLE ...');
  }
}
`;
}

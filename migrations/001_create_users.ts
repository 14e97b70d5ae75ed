import type { Database } from 'better-sqlite3';
import { Migration, MigrationInterface } from 'nestjs-auto-migration';

@Migration({ name: '001_create_users', version: '1.0.0', description: 'Create users table' })
export class CreateUsers implements MigrationInterface {
  up(db: Database): void {
    db.exec(`
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      )
    `);
  }

  down(db: Database): void {
    db.exec('DROP TABLE users');
  }
}

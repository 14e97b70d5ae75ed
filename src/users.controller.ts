import { Controller, Get } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { InjectMigrationDatabase } from 'nestjs-auto-migration';

/** Application code using the module's connection to the migrated database. */
@Controller('users')
export class UsersController {
  constructor(@InjectMigrationDatabase() private readonly db: Database) {}

  @Get()
  list() {
    return this.db.prepare('SELECT id, email, display_name AS displayName FROM users ORDER BY id').all();
  }
}

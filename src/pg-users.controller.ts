import { Controller, Get } from '@nestjs/common';
import type { Pool } from 'pg';
import { InjectMigrationDatabase } from 'nestjs-auto-migration';

/** Application code using the module's pool on PostgreSQL (`DATABASE_URL` set). */
@Controller('users')
export class PgUsersController {
  constructor(@InjectMigrationDatabase() private readonly db: Pool) {}

  @Get()
  async list() {
    return (await this.db.query('SELECT id::int AS id, email, display_name AS "displayName" FROM users ORDER BY id')).rows;
  }
}

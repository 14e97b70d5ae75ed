import { Controller, Get } from '@nestjs/common';
import type { Pool } from 'pg';
import { InjectMigrationDatabase } from 'nestjs-auto-migration';

/** Application code using the module's pool on PostgreSQL (`DATABASE_URL` set). */
@Controller('users')
export class PgUsersController {
  constructor(@InjectMigrationDatabase() private readonly db: Pool) {}

  @Get()
  async list(): Promise<{ id: number; email: string; displayName: string }[]> {
    const { rows } = await this.db.query<{ id: number; email: string; displayName: string }>(
      'SELECT id::int AS id, email, display_name AS "displayName" FROM users ORDER BY id',
    );
    return rows;
  }
}

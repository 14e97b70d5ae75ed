import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AutoMigrationModule } from 'nestjs-auto-migration';
import { MigrationsModule } from '../migrations/migrations.module';
import { PostgresMigrationsModule } from '../migrations/postgres/postgres-migrations.module';
import { HealthController } from './health.controller';
import { HealthLogger } from './health-logger';
import { PgUsersController } from './pg-users.controller';
import { UsersController } from './users.controller';

/** `DATABASE_URL` set: the demo runs on that PostgreSQL server; otherwise on an embedded SQLite file. */
const postgresUrl = process.env.DATABASE_URL;

@Module({
  imports: [
    postgresUrl
      ? AutoMigrationModule.forRoot({
          postgres: { connectionString: postgresUrl, schema: process.env.DATABASE_SCHEMA ?? 'public', ddl: { lockTimeoutMs: 5_000 } },
          lock: { timeoutMs: 60_000 },
          failOnError: true,
        })
      : AutoMigrationModule.forRoot({
          database: process.env.DATABASE ?? 'data/app.db',
          backup: { dir: 'data/backups', keep: 5 },
          lock: { timeoutMs: 60_000 },
          failOnError: true,
        }),
    postgresUrl ? PostgresMigrationsModule : MigrationsModule,
    // Failed readiness checks while migrations run are warnings, not an ERROR line per probe.
    TerminusModule.forRoot({ logger: HealthLogger }),
  ],
  controllers: [HealthController, postgresUrl ? PgUsersController : UsersController],
})
export class AppModule {}

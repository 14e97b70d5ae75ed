import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AutoMigrationModule } from 'nestjs-auto-migration';
import { MigrationsModule } from '../migrations/migrations.module';
import { HealthController } from './health.controller';
import { HealthLogger } from './health-logger';
import { UsersController } from './users.controller';

@Module({
  imports: [
    AutoMigrationModule.forRoot({
      database: process.env.DATABASE ?? 'data/app.db',
      backup: { dir: 'data/backups', keep: 5 },
      lock: { timeoutMs: 60_000 },
      failOnError: true,
    }),
    MigrationsModule,
    // Failed readiness checks while migrations run are warnings, not an ERROR line per probe.
    TerminusModule.forRoot({ logger: HealthLogger }),
  ],
  controllers: [HealthController, UsersController],
})
export class AppModule {}

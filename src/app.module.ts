import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AutoMigrationModule } from 'nestjs-auto-migration';
import { MigrationsModule } from '../migrations/migrations.module';
import { HealthController } from './health.controller';
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
    TerminusModule,
  ],
  controllers: [HealthController, UsersController],
})
export class AppModule {}

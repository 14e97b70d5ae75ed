/** The Nest application the module workloads boot, with or without AutoMigrationModule. */
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AutoMigrationModule, Migration } from '../src/auto-migration';
// The module loads its SQLite driver when it starts. Loaded here, before any clock starts, as the
// module's other files are: a compiled app reads it in a few milliseconds, while ts-node's
// transpiling of it (about 100 ms) would otherwise be counted as the module's start.
import '../src/auto-migration/driver/sqlite/sqlite-database-driver';
import { migrationClasses, migrationName, type UpHook } from './shared';

const MODULE_SIZE = 1000;

/**
 * `n` decorated migration classes (SQLite's, or those `build` makes: PostgreSQL's). Build them
 * once per process: an app defines its classes once.
 */
export function decoratedMigrations(n: number, onUp?: UpHook, build: (n: number, onUp?: UpHook) => Type<unknown>[] = migrationClasses): Type<unknown>[] {
  return build(n, onUp).map((type, k) => {
    Migration({ name: migrationName(k + 1, n), version: '1.0.0' })(type);
    return type;
  });
}

/** Where the module migrates: a SQLite file, or a schema of a PostgreSQL server. */
export type BenchDatabase = ({ file: string } | { postgres: { connectionString: string; schema: string } }) & { transactionMode: 'each' | 'all' };

/**
 * Boots an application context whose feature module lists `migrations` as providers and, when
 * `database` is given, imports AutoMigrationModule. Without it the classes are still
 * instantiated (`@Migration` includes `@Injectable`) but nothing runs them: that is the
 * "empty app" that isolates Nest's own boot cost.
 */
export async function bootApp(migrations: Type<unknown>[], database?: BenchDatabase) {
  const imports: unknown[] = [];
  // Nest 11's lifecycle hooks overflow the stack with ~9000 providers in one module (recursion in
  // iterare's flatten), so larger sets are spread over feature modules of 1000, as an app would.
  for (let start = 0; start < migrations.length; start += MODULE_SIZE) {
    @Module({ providers: migrations.slice(start, start + MODULE_SIZE) })
    class MigrationsModule {}
    imports.push(MigrationsModule);
  }
  if (database) {
    const common = { transactionMode: database.transactionMode, backup: false, statusController: false } as const;
    imports.unshift(AutoMigrationModule.forRoot('file' in database ? { database: database.file, ...common } : { postgres: database.postgres, ...common }));
  }

  @Module({ imports: imports as Type<unknown>[] })
  class AppModule {}

  // abortOnError: false, so a failed boot rejects (and the parent reports it) instead of aborting.
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  await app.init();
  return app;
}

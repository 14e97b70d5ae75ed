/*
 * A NestJS 12 app (ES module, plain JavaScript) that uses the packed and installed
 * `nestjs-auto-migration`, for compat/run-nest12.mjs. That script copies this folder to a fresh
 * directory under the OS temp dir, installs it and starts this file.
 *
 * Environment: DB (SQLite file), PORT (optional; 0 or unset lets the OS pick a free port).
 *
 * Stdout protocol, one line each, read by the runner:
 *   RUNTIME {json}   which copies of @nestjs/common and @nestjs/core the library and the app load
 *   LISTENING <port> the HTTP server is up
 *
 * Decorators are applied as functions: a class decorator is called with the class, a parameter
 * decorator with (class, undefined, index), a method decorator with (prototype, name, descriptor).
 */
import 'reflect-metadata';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import {
  AutoMigrationModule,
  AutoMigrationService,
  InjectMigrationDatabase,
  Migration,
  MigrationHealthIndicator,
} from 'nestjs-auto-migration';

/** Applies a method decorator the way TypeScript would. */
function decorateMethod(decorator, target, name) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  const result = decorator(target.prototype, name, descriptor);
  if (result) Object.defineProperty(target.prototype, name, result);
}

// ---------------------------------------------------------------------------------------------
// Runtime check: the library (CommonJS, loaded through require(esm)) and this ES module must see
// the very same @nestjs/common and @nestjs/core module instances, not merely equal versions.

const appRequire = createRequire(import.meta.url);
const libraryEntry = realpathSync(appRequire.resolve('nestjs-auto-migration'));
const libraryRequire = createRequire(libraryEntry);

async function compareCopies(specifier, probe) {
  const fromLibrary = libraryRequire(specifier);
  const fromApp = await import(specifier);
  const libraryFile = realpathSync(libraryRequire.resolve(specifier));
  const appFile = realpathSync(fileURLToPath(import.meta.resolve(specifier)));
  return {
    sameNamespace: fromLibrary === fromApp,
    sameExport: typeof fromApp[probe] === 'function' && fromLibrary[probe] === fromApp[probe],
    probe,
    sameFile: libraryFile === appFile,
    libraryFile,
    appFile,
    libraryVersion: libraryRequire(`${specifier}/package.json`).version,
    appVersion: appRequire(`${specifier}/package.json`).version,
  };
}

const runtime = {
  node: process.version,
  requireModule: process.features.require_module ?? null,
  libraryEntry,
  common: await compareCopies('@nestjs/common', 'Injectable'),
  core: await compareCopies('@nestjs/core', 'DiscoveryService'),
};
// Printed before booting, so the runner can report duplicates even when boot then fails.
process.stdout.write(`RUNTIME ${JSON.stringify(runtime)}\n`);

// ---------------------------------------------------------------------------------------------
// Two migrations: create a table, then seed it through an injected provider.

class SeedUsers {
  emails() {
    return ['ada@example.com', 'grace@example.com'];
  }
}
Injectable()(SeedUsers);

class CreateUsers {
  up(db) {
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)');
  }
  down(db) {
    db.exec('DROP TABLE users');
  }
}
Migration({ name: '001_create_users', version: '1.0.0', description: 'Create users table' })(CreateUsers);

class SeedUsersMigration {
  constructor(seed) {
    this.seed = seed;
  }
  async up(db) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const insert = db.prepare('INSERT INTO users (email) VALUES (?)');
    for (const email of this.seed.emails()) insert.run(email);
  }
}
Inject(SeedUsers)(SeedUsersMigration, undefined, 0);
Migration({ name: '002_seed_users', version: '1.1.0', description: 'Seed two users' })(SeedUsersMigration);

class MigrationsModule {}
Module({ providers: [SeedUsers, CreateUsers, SeedUsersMigration] })(MigrationsModule);

// ---------------------------------------------------------------------------------------------
// Readiness (Terminus + the library's indicator) and application code on the module's connection.

class HealthController {
  constructor(health, migrations) {
    this.health = health;
    this.migrations = migrations;
  }
  check() {
    return this.health.check([() => this.migrations.isHealthy()]);
  }
}
Inject(HealthCheckService)(HealthController, undefined, 0);
Inject(MigrationHealthIndicator)(HealthController, undefined, 1);
decorateMethod(Get(), HealthController, 'check');
decorateMethod(HealthCheck(), HealthController, 'check');
Controller('health')(HealthController);

class UsersController {
  constructor(db, migrations) {
    this.db = db;
    this.migrations = migrations;
  }
  async list() {
    await this.migrations.whenReady();
    return this.db.prepare('SELECT id, email FROM users ORDER BY id').all();
  }
}
InjectMigrationDatabase()(UsersController, undefined, 0);
Inject(AutoMigrationService)(UsersController, undefined, 1);
decorateMethod(Get(), UsersController, 'list');
Controller('users')(UsersController);

class AppModule {}
Module({
  imports: [
    AutoMigrationModule.forRoot({ database: process.env.DB, backup: false }),
    MigrationsModule,
    TerminusModule,
    ScheduleModule.forRoot(),
  ],
  controllers: [HealthController, UsersController],
})(AppModule);

// ---------------------------------------------------------------------------------------------

try {
  const app = await NestFactory.create(AppModule, { abortOnError: false });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const { port } = app.getHttpServer().address();
  process.stdout.write(`LISTENING ${port}\n`);
} catch (error) {
  process.stderr.write(`NEST12 APP FAILED: ${(error && error.stack) || error}\n`);
  process.exit(1);
}

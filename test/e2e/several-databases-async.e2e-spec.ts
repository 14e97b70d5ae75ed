import { existsSync } from 'node:fs';
import { Injectable, Module } from '@nestjs/common';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { AutoMigrationModule, InjectMigrationDatabase, InvalidOptionsError } from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * forRootAsync() with a name: options that come from another instance's database (settings kept
 * in the main database) start without waiting on themselves, and a factory's options that clash
 * with another import are still refused before that import opens anything.
 */

function appliedIn(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM migrations ORDER BY name').all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

describe('several databases: forRootAsync', () => {
  const t = useTempDatabase();

  it("takes a named instance's options from a provider that reads the default instance's database", async () => {
    @Injectable()
    class Settings {
      constructor(@InjectMigrationDatabase() private readonly db: Database) {}
      analyticsFile(): string {
        return (this.db.prepare('SELECT ? AS file').get(t.dir.file('analytics.db')) as { file: string }).file;
      }
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}

    const { app } = await bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
        imports: [
          AutoMigrationModule.forRootAsync({
            name: 'analytics',
            imports: [SettingsModule],
            inject: [Settings],
            useFactory: (settings: Settings) => ({ database: settings.analyticsFile() }),
          }),
        ],
        migrations: [migration('001_main'), migration('001_events', undefined, { database: 'analytics' })],
      },
    );
    await app.close();
    expect(appliedIn(t.db)).toEqual(['001_main']);
    expect(appliedIn(t.dir.file('analytics.db'))).toEqual(['001_events']);
  });

  it("refuses a factory's options that name another import's file, and that import applies nothing", async () => {
    const failure = bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
        imports: [AutoMigrationModule.forRootAsync({ name: 'analytics', useFactory: () => Promise.resolve({ database: t.db }) })],
        migrations: [migration('001_main')],
      },
    );
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toContain('the default instance and instance "analytics" both migrate');
    // A factory without injected providers is waited for: nothing opened the file.
    expect(existsSync(t.db)).toBe(false);
  });
});

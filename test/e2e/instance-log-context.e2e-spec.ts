import { Logger, type Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { AutoMigrationModule } from '../../src/auto-migration';
import { MIGRATION_INSTANCE } from '../../src/auto-migration/instances/migration-instance';
import { bootApp, type CapturingLogger } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { pgMigration } from '../helpers/pg-migrations';
import { usePgSchema } from '../helpers/postgres';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * Two instances in one app log side by side: without the instance in the context, their
 * "[1/2] 001_x (2 ms)" lines could not be told apart. A named instance's lines carry
 * `AutoMigration:<name>`; the default instance's keep `AutoMigration`, as in a one-database app.
 */

jest.setTimeout(60_000);

/** `LEVEL [context] message` lines (CapturingLogger's shape) split into their parts. */
function parsed(logger: CapturingLogger): { level: string; context: string; message: string }[] {
  return logger.lines.map((line) => {
    const match = /^(\w+) \[([^\]]*)\] ([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`not a captured log line: ${line}`);
    return { level: match[1], context: match[2], message: match[3] };
  });
}

/** The contexts of the lines whose message contains `text`: every line about one instance's own things. */
function contextsOf(logger: CapturingLogger, text: string): string[] {
  return [
    ...new Set(
      parsed(logger)
        .filter((l) => l.message.includes(text))
        .map((l) => l.context),
    ),
  ];
}

const failing = () => {
  throw new Error('analytics migration failed on purpose');
};

describe('log context of each instance', () => {
  const t = useTempDatabase();

  it('SQLite + SQLite: the default instance logs as AutoMigration, "analytics" as AutoMigration:analytics, its failure included', async () => {
    const other = t.dir.file('analytics.db');
    const { app, logger } = await bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
        imports: [AutoMigrationModule.forRoot({ name: 'analytics', database: other, failOnError: false })],
        migrations: [
          migration('001_main_users'),
          migration('002_main_orders'),
          migration('001_an_events', undefined, { database: 'analytics' }),
          migration('002_an_broken', failing, { database: 'analytics' }),
        ],
      },
    );
    try {
      const lines = logger.lines;
      // The driver's line, the per-migration lines and the run's summary, of each instance.
      expect(lines).toContain(`LOG [AutoMigration] Database: ${t.db}`);
      expect(lines).toContain(`LOG [AutoMigration:analytics] Database: ${other}`);
      expect(lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration\] \[1\/2\] 001_main_users \(\d+ ms\)$/));
      expect(lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration\] \[2\/2\] 002_main_orders \(\d+ ms\)$/));
      expect(lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration\] Applied 2 migrations in \d+ ms; schema up to date$/));
      expect(lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration:analytics\] \[1\/2\] 001_an_events \(\d+ ms\)$/));
      // The failure, and what failOnError: false makes of it, under the instance that failed.
      expect(lines).toContainEqual(expect.stringMatching(/^ERROR \[AutoMigration:analytics\] .*002_an_broken[\s\S]*analytics migration failed on purpose/));
      expect(lines).toContainEqual(expect.stringMatching(/^WARN \[AutoMigration:analytics\] failOnError is false/));

      // No line about one instance's database or migrations under the other's context.
      expect(contextsOf(logger, other)).toEqual(['AutoMigration:analytics']);
      expect(contextsOf(logger, '_an_')).toEqual(['AutoMigration:analytics']);
      expect(contextsOf(logger, '_main_')).toEqual(['AutoMigration']);
      expect(lines).toContain("LOG [AutoMigration] mode 'blocking': applying pending migrations before the application starts listening");
      expect(lines).toContain("LOG [AutoMigration:analytics] mode 'blocking': applying pending migrations before the application starts listening");
      // Only the two contexts: nothing of the module's logs under a third.
      const ours = parsed(logger).filter((l) => l.context.startsWith('AutoMigration'));
      expect([...new Set(ours.map((l) => l.context))].sort()).toEqual(['AutoMigration', 'AutoMigration:analytics']);
    } finally {
      await app.close();
    }
  });

  it("on a restart: the plan's warning about an applied migration the code lacks, and each backup, under its instance", async () => {
    const other = t.dir.file('analytics.db');
    const boot = (migrations: Type<unknown>[]) =>
      bootApp(
        {},
        {
          autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
          imports: [AutoMigrationModule.forRoot({ name: 'analytics', database: other })],
          migrations,
        },
      );
    const first = await boot([
      migration('001_main_users'),
      migration('001_an_events', undefined, { database: 'analytics' }),
      migration('002_an_gone', undefined, { database: 'analytics' }),
    ]);
    await first.app.close();

    const { app, logger } = await boot([
      migration('001_main_users'),
      migration('002_main_orders'),
      migration('001_an_events', undefined, { database: 'analytics' }),
      migration('003_an_new', undefined, { database: 'analytics' }),
    ]);
    try {
      expect(logger.lines).toContainEqual(expect.stringMatching(/^WARN \[AutoMigration:analytics\] Applied migration not in this code: 002_an_gone\./));
      expect(logger.lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration\] Backup written: app\.db\./));
      expect(logger.lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration:analytics\] Backup written: analytics\.db\./));
      expect(contextsOf(logger, '_an_')).toEqual(['AutoMigration:analytics']);
      expect(contextsOf(logger, '_main_')).toEqual(['AutoMigration']);
    } finally {
      await app.close();
    }
  });

  it("every logger held by a provider of an import has that import's context", async () => {
    const { app } = await bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
        imports: [AutoMigrationModule.forRoot({ name: 'analytics', database: t.dir.file('analytics.db') })],
      },
    );
    try {
      const seen = new Map<string, Set<string>>();
      for (const module of app.get(ModulesContainer).values()) {
        const instance = module.providers.get(MIGRATION_INSTANCE)?.instance as { name: string } | undefined;
        if (!instance) continue;
        for (const provider of module.providers.values()) {
          const held = provider.instance as Record<string, unknown> | null;
          for (const value of Object.values(held ?? {})) {
            if (!(value instanceof Logger)) continue;
            const contexts = seen.get(instance.name) ?? new Set<string>();
            contexts.add((value as unknown as { context: string }).context);
            seen.set(instance.name, contexts);
          }
        }
      }
      // Some twenty classes hold one; the CLI and the drivers' own objects are not providers.
      expect([...seen.keys()].sort()).toEqual(['analytics', 'default']);
      expect([...seen.get('default')!]).toEqual(['AutoMigration']);
      expect([...seen.get('analytics')!]).toEqual(['AutoMigration:analytics']);
    } finally {
      await app.close();
    }
  });
});

describe('log context of a PostgreSQL instance beside a SQLite one', () => {
  const t = useTempDatabase();
  const pg = usePgSchema('logctx');

  it('the PostgreSQL driver logs under its instance name', async () => {
    const { app, logger } = await bootApp(
      {},
      {
        autoMigration: AutoMigrationModule.forRoot({ database: t.db }),
        imports: [AutoMigrationModule.forRoot({ name: 'analytics', postgres: { connectionString: pg.url, schema: pg.schema } })],
        migrations: [migration('001_main_users'), pgMigration('001_an_events', 'CREATE TABLE events (id bigint)', { database: 'analytics' })],
      },
    );
    try {
      expect(logger.lines).toContain(`LOG [AutoMigration] Database: ${t.db}`);
      expect(logger.lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration:analytics\] Database: postgres/));
      expect(logger.lines).toContainEqual(expect.stringMatching(/^LOG \[AutoMigration:analytics\] \[1\/1\] 001_an_events \(\d+ ms\)$/));
      expect(contextsOf(logger, '_an_')).toEqual(['AutoMigration:analytics']);
      expect(contextsOf(logger, '_main_')).toEqual(['AutoMigration']);
    } finally {
      await app.close();
    }
  });
});

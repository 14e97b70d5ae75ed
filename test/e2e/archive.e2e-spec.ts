import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import BetterSqlite3 from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutoMigrationService, InvalidOptionsError } from '../../src/auto-migration';
import { bootApp, bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { inspect } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

describe('history archive', () => {
  const t = useTempDatabase();
  const base = () => ({ database: t.db, backup: false as const });
  const names = (table: string) => inspect(t.db, (d) => (d.prepare(`SELECT name FROM ${table} ORDER BY id`).all() as { name: string }[]).map((r) => r.name));

  /** Applies three migrations and ages the first two by two years. */
  async function agedHistory(): Promise<void> {
    await (await bootApp(base(), { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec("UPDATE migrations SET applied_at = '2024-01-01T00:00:00.000Z' WHERE name IN ('001_a', '002_b')");
    conn.close();
  }

  it('moves old rows to migrations_archive and keeps them applied everywhere', async () => {
    await agedHistory();
    const { app } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] });
    const service = app.get(AutoMigrationService);
    const result = await service.archiveHistory({ olderThan: '365d' });
    const status = await service.getStatus();
    await app.close();

    expect(result).toEqual({ archived: ['001_a', '002_b'], cutoff: expect.stringMatching(/Z$/) });
    expect(names('migrations')).toEqual(['003_c']);
    expect(names('migrations_archive')).toEqual(['001_a', '002_b']);
    expect(status.state).toBe('up-to-date');
    expect(status.pending).toEqual([]);
    expect(status.applied.map((m) => [m.name, m.archived])).toEqual([
      ['001_a', true],
      ['002_b', true],
      ['003_c', false],
    ]);

    // A later start runs nothing again, and an out-of-order check still sees the archived names.
    let reran = false;
    const again = migration('001_a', () => {
      reran = true;
    });
    await (await bootApp(base(), { migrations: [again, migration('002_b'), migration('003_c'), migration('004_d')] })).app.close();
    expect(reran).toBe(false);
    expect(names('migrations')).toEqual(['003_c', '004_d']);

    // With everything archived, the newest applied migration lives in the archive only.
    const all = [migration('001_a'), migration('002_b'), migration('003_c'), migration('004_d')];
    const everything = await bootApp(base(), { migrations: all });
    await everything.app.get(AutoMigrationService).archiveHistory({ olderThan: '0s' });
    await everything.app.close();
    expect(names('migrations')).toEqual([]);
    const { error } = await bootFailure(base(), { migrations: [...all, migration('002_z')] });
    expect(error).toMatchObject({ code: 'OUT_OF_ORDER_MIGRATION', message: expect.stringContaining('"002_z" sorts before "004_d"') });
  });

  it('no longer validates the checksums of archived migrations', async () => {
    await agedHistory();
    const conn = new BetterSqlite3(t.db);
    conn.exec("UPDATE migrations SET checksum = 'edited' WHERE name = '001_a'");
    conn.close();
    const { app } = await bootApp({ ...base(), validateChecksums: 'warn' }, { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] });
    await app.get(AutoMigrationService).archiveHistory({ olderThan: 365 * 86_400_000 });
    await app.close();
    const strict = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] });
    await strict.app.close();
    expect(strict.logger.lines.filter((l) => l.includes('changed since'))).toEqual([]);
  });

  it("counts rows archived by the design document's own SQL as applied", async () => {
    await agedHistory();
    const conn = new BetterSqlite3(t.db);
    conn.exec(`
      DROP TABLE migrations_archive;
      CREATE TABLE migrations_archive AS SELECT * FROM migrations WHERE applied_at < date('now', '-1 year');
      DELETE FROM migrations WHERE applied_at < date('now', '-1 year');
    `);
    conn.close();
    let reran = false;
    const again = migration('001_a', () => {
      reran = true;
    });
    const { app } = await bootApp(base(), { migrations: [again, migration('002_b'), migration('003_c')] });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(reran).toBe(false);
    expect(status.state).toBe('up-to-date');
    expect(status.applied.filter((m) => m.archived).map((m) => m.name)).toEqual(['001_a', '002_b']);
  });

  it("compares dates, not text: a row written with SQLite's datetime('now') is not archived early", async () => {
    await (await bootApp(base(), { migrations: [migration('001_a')] })).app.close();
    const conn = new BetterSqlite3(t.db);
    conn.exec("UPDATE migrations SET applied_at = datetime('now')");
    conn.close();
    const { app } = await bootApp(base(), { migrations: [migration('001_a')] });
    expect(await app.get(AutoMigrationService).archiveHistory({ olderThan: '1h' })).toMatchObject({ archived: [] });
    await app.close();
    expect(names('migrations')).toEqual(['001_a']);
  });

  it('counts a name once when a hand-made archive holds it twice', async () => {
    await agedHistory();
    const conn = new BetterSqlite3(t.db);
    conn.exec(`
      DROP TABLE migrations_archive;
      CREATE TABLE migrations_archive AS SELECT * FROM migrations WHERE name = '001_a';
      INSERT INTO migrations_archive SELECT * FROM migrations WHERE name = '001_a';
      DELETE FROM migrations WHERE name = '001_a';
    `);
    conn.close();
    const { app } = await bootApp(base(), { migrations: [migration('001_a'), migration('002_b'), migration('003_c')] });
    const status = await app.get(AutoMigrationService).getStatus();
    await app.close();
    expect(status.applied.map((m) => m.name)).toEqual(['001_a', '002_b', '003_c']);
  });

  it('refuses a bad olderThan, naming it', async () => {
    const { app } = await bootApp(base(), { migrations: [migration('001_a')] });
    await expect(app.get(AutoMigrationService).archiveHistory({ olderThan: '1 year' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('olderThan must be milliseconds or a duration'),
    });
    await app.close();
  });

  it('archives on the archive.cron schedule through @nestjs/schedule, and validates the option', async () => {
    await agedHistory();
    @Module({ imports: [ScheduleModule.forRoot()] })
    class WithSchedule {}
    const { app } = await bootApp(
      { ...base(), archive: { olderThan: '365d', cron: '* * * * * *' } },
      {
        migrations: [migration('001_a'), migration('002_b'), migration('003_c')],
        imports: [WithSchedule],
      },
    );
    for (let i = 0; i < 40 && names('migrations').length > 1; i++) await sleep(100);
    await app.close();
    expect(names('migrations_archive')).toEqual(['001_a', '002_b']);

    const { error } = await bootFailure({ ...base(), archive: { olderThan: 'forever', cron: 'sometimes' } }, { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['archive.cron', 'archive.olderThan']);
  });
});

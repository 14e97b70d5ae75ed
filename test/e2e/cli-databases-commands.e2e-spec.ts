import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliRun, killStrayChildren, REPO_ROOT, runCli } from '../helpers/child-process';
import { CLEARED_LEASE, historyNames, inspect, tableNames, writeSql } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * `--database analytics` on each command that acts on one instance (up, down, status and create
 * are in cli-databases.e2e-spec.ts): the CLI runs from source in a child process and boots
 * test/fixtures/cli/databases-app.module.ts, a default SQLite instance (001_create_users,
 * 002_create_posts, 003_create_tags) beside "analytics" (001_create_events,
 * 002_create_daily_totals). Each command must change analytics and leave the default instance's
 * file byte-identical: a command that ignored the flag would act on the default instance, which
 * is migrated and carries marks of its own (a changed checksum, a dead holder's lease row) that
 * the same command on it would clear.
 */

jest.setTimeout(180_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'cli', 'databases-app.module.ts');
const DEFAULT_MIGRATIONS = ['001_create_users', '002_create_posts', '003_create_tags'];
const ANALYTICS_MIGRATIONS = ['001_create_events', '002_create_daily_totals'];
const DEAD_HOLDER = { in_progress: 1, owner_host: 'gone-host', owner_pid: 999999, owner_instance: 'dead' };

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit code ${code}, got ${run.code}\n${run.describe()}`);
}

/** A lease row naming a holder that is gone (nobody holds the lock file). */
function writeDeadHolder(db: string): void {
  const now = new Date().toISOString();
  writeSql(
    db,
    'UPDATE migration_lock SET in_progress = 1, started_at = ?, owner_host = ?, owner_pid = ?, owner_instance = ?, heartbeat_at = ? WHERE id = 1',
    now,
    DEAD_HOLDER.owner_host,
    DEAD_HOLDER.owner_pid,
    DEAD_HOLDER.owner_instance,
    now,
  );
}

function leaseRow(db: string): Record<string, unknown> {
  return inspect(db, (d) => d.prepare('SELECT * FROM migration_lock WHERE id = 1').get() as Record<string, unknown>);
}

function checksumOf(db: string, name: string): string {
  return inspect(db, (d) => (d.prepare('SELECT checksum FROM migrations WHERE name = ?').get(name) as { checksum: string }).checksum);
}

/** Applied migrations in order; none while the module has not created its tables. */
const applied = (db: string): string[] => (existsSync(db) && tableNames(db).includes('migrations') ? historyNames(db) : []);

describe('nest-auto-migration <command> --database analytics', () => {
  const t = useTempDatabase();
  const analyticsDb = () => join(t.dir.path, 'analytics.db');
  /** Every file in the backup folder the two instances share (backups and their checksum files). */
  const backupFolder = () => (existsSync(join(t.dir.path, 'backups')) ? readdirSync(join(t.dir.path, 'backups')).sort() : []);
  const backupFiles = () => backupFolder().filter((name) => name.endsWith('.backup'));
  const notOfAnalytics = () => backupFolder().filter((name) => !name.startsWith('analytics.db.'));
  afterEach(killStrayChildren);

  /** Runs the CLI on the fixture module; `analytics` points the instance "analytics" at another file. */
  const cli = (args: string[], analytics = analyticsDb()) =>
    runCli([...args, '--module', FIXTURE], { cwd: t.dir.path, env: { DATABASE: t.db, ANALYTICS_DATABASE: analytics } });

  /** The default instance, migrated; returns its bytes, which no command on analytics may change. */
  async function migratedDefault(): Promise<Buffer> {
    expectExit(await cli(['up']), 0);
    expect(historyNames(t.db)).toEqual(DEFAULT_MIGRATIONS);
    return readFileSync(t.db);
  }

  it('up --dry-run and baseline on a fresh analytics database rehearse and record analytics migrations only', async () => {
    const defaultBytes = await migratedDefault();
    // Two fresh analytics files, so that the two commands run at once without seeing each other.
    const rehearsed = t.dir.file('rehearsed.db');
    const adopted = t.dir.file('adopted.db');

    const [dryRun, baseline] = await Promise.all([
      cli(['up', '--dry-run', '--database', 'analytics'], rehearsed),
      cli(['baseline', '--to', '001_create_events', '--database', 'analytics'], adopted),
    ]);

    expectExit(dryRun, 0);
    expect(dryRun.stdout).toMatch(/^Dry run on a temporary copy of the database/m);
    for (const name of ANALYTICS_MIGRATIONS) expect(dryRun.stdout).toMatch(new RegExp(`^${name} {2}\\(1\\.0\\.0, \\d+ ms\\)$`, 'm'));
    expect(dryRun.stdout).toMatch(/CREATE TABLE events \(id INTEGER PRIMARY KEY, kind TEXT NOT NULL\);$/m);
    expect(dryRun.stdout).toContain('2 migrations would be applied.');
    for (const name of DEFAULT_MIGRATIONS) expect(dryRun.stdout).not.toContain(name);
    expect(applied(rehearsed)).toEqual([]);

    expectExit(baseline, 0);
    expect(baseline.stdout).toMatch(/^Recorded 1 migration as applied without running them \(at [\d-]+T[\d:.]+Z\):\n {2}001_create_events$/m);
    expect(historyNames(adopted)).toEqual(['001_create_events']);
    // Recorded, not run.
    expect(tableNames(adopted)).not.toContain('events');

    expect(readFileSync(t.db).equals(defaultBytes)).toBe(true);
  });

  it('unlock, resolve, backup, restore, repair and archive work on analytics and leave the default instance byte-identical', async () => {
    const [main, first] = await Promise.all([cli(['up']), cli(['up', '--to', '001_create_events', '--database', 'analytics'])]);
    expectExit(main, 0);
    expectExit(first, 0);
    expect(historyNames(analyticsDb())).toEqual(['001_create_events']);

    // Marks the default instance keeps: each command below, had it acted on the default instance,
    // would have cleared one of them (unlock the lease row, repair the checksum) or failed there.
    writeSql(t.db, "UPDATE migrations SET checksum = 'edited', source_hash = NULL WHERE name = '001_create_users'");
    writeDeadHolder(t.db);
    const defaultBytes = readFileSync(t.db);
    const defaultUnchanged = () => expect(readFileSync(t.db).equals(defaultBytes)).toBe(true);

    // unlock: the analytics lease row of a dead holder is cleared; the default one's stays.
    writeDeadHolder(analyticsDb());
    const unlocked = await cli(['unlock', '--database', 'analytics']);
    expectExit(unlocked, 0);
    expect(unlocked.stdout).toMatch(/^Cleared the lease row of gone-host\/999999 \(instance dead\)( for \d+ \w+)?, which no longer holds the lock\.$/m);
    expect(leaseRow(analyticsDb())).toEqual(CLEARED_LEASE);
    expect(leaseRow(t.db)).toMatchObject(DEAD_HOLDER);
    defaultUnchanged();

    // resolve: an interrupted attempt of analytics' pending 002, as a killed transaction: false
    // run leaves it; --applied records it without running it. The default instance has no attempt.
    writeSql(
      analyticsDb(),
      "INSERT INTO migration_attempts (name, version, started_at, owner_host, owner_pid, owner_instance) VALUES ('002_create_daily_totals', '1.0.0', ?, 'gone-host', 999999, 'dead')",
      new Date().toISOString(),
    );
    const resolved = await cli(['resolve', '002_create_daily_totals', '--applied', '--database', 'analytics']);
    expectExit(resolved, 0);
    expect(resolved.stdout).toContain('Recorded 002_create_daily_totals as applied.');
    expect(resolved.stdout).toContain('State: up-to-date');
    expect(historyNames(analyticsDb())).toEqual(ANALYTICS_MIGRATIONS);
    expect(inspect(analyticsDb(), (db) => db.prepare('SELECT COUNT(*) AS n FROM migration_attempts').get())).toEqual({ n: 0 });
    expect(tableNames(analyticsDb())).not.toContain('daily_totals');
    defaultUnchanged();

    // backup: a backup of analytics.db, none of app.db.
    const backedUp = await cli(['backup', '--database', 'analytics']);
    expectExit(backedUp, 0);
    const file = /^Backup written: (analytics\.db\.\d{8}T\d{9}Z\.\S+\.backup) \(/m.exec(backedUp.stdout)?.[1];
    expect(file).toBeDefined();
    expect(backupFiles()).toEqual([file]);
    expect(notOfAnalytics()).toEqual([]);
    defaultUnchanged();

    // restore: analytics goes back to the backup (the row written since is gone); it backs up the
    // state it replaces first, as analytics.db again. The name is not a backup of app.db: on the
    // default instance it would be refused.
    writeSql(analyticsDb(), "INSERT INTO events (kind) VALUES ('after the backup')");
    const restored = await cli(['restore', file!, '--force', '--database', 'analytics']);
    expectExit(restored, 0);
    expect(restored.stdout).toContain(`Restored ${file}; the state before the restore was backed up first.`);
    expect(inspect(analyticsDb(), (db) => db.prepare('SELECT COUNT(*) AS n FROM events').get())).toEqual({ n: 0 });
    expect(backupFiles()).toHaveLength(2);
    expect(notOfAnalytics()).toEqual([]);
    defaultUnchanged();

    // repair: analytics' changed checksum is accepted; the default one's stays "edited".
    writeSql(analyticsDb(), "UPDATE migrations SET checksum = 'edited', source_hash = NULL WHERE name = '001_create_events'");
    const repaired = await cli(['repair', '--database', 'analytics']);
    expectExit(repaired, 0);
    expect(repaired.stdout).toContain('Accepted the current checksums of: 001_create_events');
    expect(checksumOf(analyticsDb(), '001_create_events')).toMatch(/^[0-9a-f]{64}$/);
    expect(checksumOf(t.db, '001_create_users')).toBe('edited');
    defaultUnchanged();

    // archive: analytics' history rows move to its archive; the default one's stay.
    const archived = await cli(['archive', '--older-than', '0s', '--database', 'analytics']);
    expectExit(archived, 0);
    expect(archived.stdout).toMatch(/^Archived 2 migrations applied before \S+: 001_create_events, 002_create_daily_totals$/m);
    expect(historyNames(analyticsDb())).toEqual([]);
    expect(inspect(analyticsDb(), (db) => db.prepare('SELECT name FROM migrations_archive ORDER BY name').pluck().all())).toEqual(ANALYTICS_MIGRATIONS);
    expect(historyNames(t.db)).toEqual(DEFAULT_MIGRATIONS);
    defaultUnchanged();

    // Every backup written along the way (by backup, restore and repair) is one of analytics.db.
    expect(notOfAnalytics()).toEqual([]);
  });
});

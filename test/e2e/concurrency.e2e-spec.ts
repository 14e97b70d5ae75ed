import BetterSqlite3 from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killStrayChildren, REPO_ROOT, type RunningChild, spawnTs } from '../helpers/child-process';
import { tempDir } from '../helpers/temp-dir';

/*
 * Real processes start together against one fresh database file (test/fixtures/migrating-app.ts,
 * released together by a barrier). Each migration must be executed exactly once, as counted in a
 * log outside the database, and recorded exactly once in the history table.
 */

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'migrating-app.ts');
const PROCESSES = 2;
const ROWS_PER_TABLE = 5; // as in the fixture
const MIGRATIONS = Array.from({ length: 10 }, (_, i) => {
  const n = i + 1;
  const table = `t${String(n).padStart(2, '0')}`;
  return { name: `${String(n).padStart(3, '0')}_create_${table}`, table };
});

jest.setTimeout(180_000);

describe('several processes starting together on a fresh database file', () => {
  let dir: ReturnType<typeof tempDir>;

  beforeEach(() => {
    dir = tempDir('auto-migration-concurrency-');
  });

  afterEach(async () => {
    await killStrayChildren();
    dir.remove();
  });

  /** Starts the processes, releases them together, and checks the outcome. */
  async function runRound(label: string, env: Record<string, string> = {}): Promise<void> {
    const db = dir.file(`${label}.db`);
    const execLog = dir.file(`${label}.exec.log`);
    const goFile = dir.file(`${label}.go`);
    writeFileSync(execLog, '');

    const children: RunningChild[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      children.push(spawnTs(FIXTURE, { env: { DB: db, EXEC_LOG: execLog, GO_FILE: goFile, ...env } }));
    }
    // Barrier: every process has loaded everything and polls for the go file.
    await Promise.all(children.map((child) => child.waitForOutput('READY', 120_000)));
    expect(existsSync(db)).toBe(false);
    writeFileSync(goFile, 'go');

    const exits = await Promise.all(children.map((child) => child.waitForExit(120_000)));
    exits.forEach((exit, i) => {
      if (exit.code !== 0) throw new Error(`${label}: process ${i} failed\n${children[i].describe()}`);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(children[i].stdout()).toContain('DONE');
    });

    // The runs really overlapped: at least one process found the lock taken and waited for it
    // (a round whose processes happened to start one after the other proves nothing about the lock).
    const waited = children.filter((child) => child.stdout().includes('Migration lock held by '));
    if (waited.length === 0) throw new Error(`${label}: no process waited for the lock\n${children.map((c) => c.describe()).join('\n')}`);

    // Executions, as counted outside the database: each name once, by one of our processes.
    const lines = readFileSync(execLog, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((line) => line.split(' ')[1]).sort()).toEqual(MIGRATIONS.map((m) => m.name));
    const pids = new Set(children.map((child) => String(child.pid)));
    for (const line of lines) expect(pids.has(line.split(' ')[0])).toBe(true);

    // History and schema, as recorded in the database.
    const conn = new BetterSqlite3(db, { readonly: true, fileMustExist: true });
    try {
      const history = conn.prepare('SELECT name, COUNT(*) AS n FROM migrations GROUP BY name ORDER BY name').all();
      expect(history).toEqual(MIGRATIONS.map((m) => ({ name: m.name, n: 1 })));
      expect(conn.prepare('SELECT COUNT(*) AS n FROM migrations').get()).toEqual({ n: MIGRATIONS.length });
      const byId = conn.prepare('SELECT name FROM migrations ORDER BY id').all() as { name: string }[];
      expect(byId.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
      for (const { table } of MIGRATIONS) {
        expect(conn.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()).toEqual({ n: ROWS_PER_TABLE });
      }
      expect(conn.prepare('SELECT in_progress FROM migration_lock WHERE id = 1').get()).toEqual({ in_progress: 0 });
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      conn.close();
    }
  }

  it(`apply each migration exactly once (3 rounds of ${PROCESSES} processes, fresh file each)`, async () => {
    for (let round = 1; round <= 3; round++) await runRound(`round-${round}`);
  });

  it('wait for the lock, then start normally, when a run lasts longer than SQLite’s 5 s busy timeout', async () => {
    // One migration awaits 6.5 s inside its transaction. A process that relied on SQLite's busy
    // wait instead of the module's lock would fail with SQLITE_BUSY after 5 s.
    await runRound('long-run', { LONG_SLEEP_MS: '6500' });
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import {
  AutoMigrationService,
  BackupDisabledError,
  BaselineRefusedError,
  ForeignKeyViolationError,
  LockHeldError,
  MissingDownError,
  RevertFailedError,
  UnknownMigrationError,
} from '../../src/auto-migration';
import { bootApp } from '../helpers/boot';
import { migration, reversibleMigration, tableFor } from '../helpers/migrations';
import { historyNames, inspect, tableNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/** Boots an app whose bootstrap run is skipped (as under the CLI), so each test drives the service itself. */
async function serviceFor(options: Record<string, unknown>, migrations: ReturnType<typeof migration>[]) {
  const flag = Symbol.for('nestjs-auto-migration.cli');
  (globalThis as Record<symbol, unknown>)[flag] = true;
  try {
    const { app, logger } = await bootApp(options, { migrations });
    return { app, logger, service: app.get(AutoMigrationService) };
  } finally {
    delete (globalThis as Record<symbol, unknown>)[flag];
  }
}

describe('operations of AutoMigrationService (the CLI commands)', () => {
  const t = useTempDatabase();
  const reversible = () => [reversibleMigration('001_a'), reversibleMigration('002_b'), reversibleMigration('003_c')];

  it('skips the bootstrap run under the CLI flag, and migrate({ to }) applies up to and including that migration', async () => {
    const { app, service } = await serviceFor({ database: t.db, backup: false }, reversible());
    try {
      expect((await service.getStatus()).pending.map((p) => p.name)).toEqual(['001_a', '002_b', '003_c']);
      const status = await service.migrate({ to: '002_b' });
      expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
      expect(status.pending.map((p) => p.name)).toEqual(['003_c']);
      await expect(service.migrate({ to: '009_nope' })).rejects.toThrow(UnknownMigrationError);
      expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
    } finally {
      await app.close();
    }
  });

  describe('revert()', () => {
    it('reverts the newest migration by default, then down to and including `to`, newest first, after a backup', async () => {
      const { app, service, logger } = await serviceFor({ database: t.db, backup: { dir: t.dir.file('backups') } }, reversible());
      try {
        await service.migrate();
        const one = await service.revert();
        expect(one.reverted.map((r) => r.name)).toEqual(['003_c']);
        expect(one.backup).toMatch(/^app\.db\..*\.003_c\.backup$/);
        expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
        expect(tableNames(t.db)).not.toContain(tableFor('003_c'));

        const rest = await service.revert({ to: '001_a' });
        expect(rest.reverted.map((r) => r.name)).toEqual(['002_b', '001_a']);
        expect(historyNames(t.db)).toEqual([]);
        expect(tableNames(t.db).filter((n) => n.startsWith('t_'))).toEqual([]);
        expect(readdirSync(t.dir.file('backups')).filter((f) => f.endsWith('.backup'))).toHaveLength(2);
        expect(logger.lines).toEqual(expect.arrayContaining([expect.stringMatching(/\[2\/2\] reverted 001_a \(\d+ ms\)$/)]));
        expect((await service.getStatus()).pending).toHaveLength(3);
      } finally {
        await app.close();
      }
    });

    it('refuses before changing anything when a migration on the way has no down(), naming it', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: { dir: t.dir.file('backups') } }, [
        reversibleMigration('001_a'),
        migration('002_oneway'),
        reversibleMigration('003_c'),
      ]);
      try {
        await service.migrate();
        const before = readFileSync(t.db);
        const error = await service.revert({ steps: 2 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MissingDownError);
        expect((error as MissingDownError).code).toBe('MISSING_DOWN');
        expect((error as Error).message).toContain('"002_oneway" (M002_oneway) has no down()');
        expect(readFileSync(t.db).equals(before)).toBe(true);
        // Refused before the backup, too: the first run on a new database needed none.
        expect(existsSync(t.dir.file('backups'))).toBe(false);
      } finally {
        await app.close();
      }
    });

    it('rolls a failing down() back, keeping its history row, and names what was reverted before it', async () => {
      const failing = reversibleMigration('002_b', (db) => {
        db.exec(`DROP TABLE ${tableFor('002_b')}`);
        throw new Error('boom in down');
      });
      const { app, service } = await serviceFor({ database: t.db, backup: false }, [reversibleMigration('001_a'), failing, reversibleMigration('003_c')]);
      try {
        await service.migrate();
        const error = (await service.revert({ to: '001_a' }).catch((e: unknown) => e)) as RevertFailedError;
        expect(error).toBeInstanceOf(RevertFailedError);
        expect(error.message).toMatch(/Reverting "002_b" failed: boom in down\. Its changes were rolled back.*Reverted before it: 003_c\./);
        expect(historyNames(t.db)).toEqual(['001_a', '002_b']);
        expect(tableNames(t.db)).toContain(tableFor('002_b'));
      } finally {
        await app.close();
      }
    });

    it('refuses a down() that leaves rows violating foreign keys, rolling it back', async () => {
      const parent = reversibleMigration('001_parent', (db) => {
        db.exec('DELETE FROM parent');
      });
      const up = (db: Database) => {
        db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))');
        db.exec('INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1)');
      };
      const first = await serviceFor({ database: t.db, backup: false }, [migration('001_parent', up), migration('002_x')]);
      await first.service.migrate();
      await first.app.close();
      // The same name, now with a down() that deletes the parent rows under their child rows.
      const second = await serviceFor({ database: t.db, backup: false, validateChecksums: false }, [parent, reversibleMigration('002_x')]);
      try {
        await second.service.migrate();
        await second.service.revert();
        const refused = second.service.revert();
        await expect(refused).rejects.toThrow(ForeignKeyViolationError);
        await expect(refused).rejects.toThrow(
          'The down() of migration "001_parent" left rows that violate foreign keys: child (1 new row). The transaction was rolled back and the migration stays applied.',
        );
        expect(historyNames(t.db)).toEqual(['001_parent']);
        expect(inspect(t.db, (d) => d.prepare('SELECT COUNT(*) FROM parent').pluck().get())).toBe(1);
      } finally {
        await second.app.close();
      }
    });

    it('rejects unknown names, both flags, and a bad step count', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: false }, reversible());
      try {
        await service.migrate();
        await expect(service.revert({ to: '002_zz' })).rejects.toThrow(UnknownMigrationError);
        await expect(service.revert({ steps: 0 })).rejects.toThrow(/steps must be a whole number of at least 1/);
        await expect(service.revert({ steps: 1, to: '001_a' })).rejects.toThrow(/either \{ steps \} or \{ to \}/);
        expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c']);
      } finally {
        await app.close();
      }
    });
  });

  describe('baseline()', () => {
    it('records migrations up to `to` as applied without running them; a later migrate() runs only the rest', async () => {
      // A database made before the module was adopted: the table of 001 already exists.
      const legacy = new BetterSqlite3(t.db);
      legacy.exec(`CREATE TABLE ${tableFor('001_a')} (id INTEGER PRIMARY KEY); CREATE TABLE ${tableFor('002_b')} (id INTEGER PRIMARY KEY)`);
      legacy.close();
      const { app, service } = await serviceFor({ database: t.db, backup: false }, reversible());
      try {
        const result = await service.baseline({ to: '002_b' });
        expect(result.recorded).toEqual(['001_a', '002_b']);
        const rows = inspect(t.db, (d) => d.prepare('SELECT name, execution_time_ms, applied_at FROM migrations ORDER BY id').all());
        expect(rows).toEqual([
          { name: '001_a', execution_time_ms: 0, applied_at: result.at },
          { name: '002_b', execution_time_ms: 0, applied_at: result.at },
        ]);
        expect(inspect(t.db, (d) => d.prepare("SELECT value FROM migration_meta WHERE key = 'baseline_to'").pluck().get())).toBe('002_b');
        // Running 001/002 again would fail with "table already exists".
        await service.migrate();
        expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c']);
        await expect(service.baseline({ to: '001_a' })).rejects.toThrow(BaselineRefusedError);
        await expect(service.baseline({ to: '000_none' })).rejects.toThrow(UnknownMigrationError);
      } finally {
        await app.close();
      }
    });
  });

  describe('dryRun()', () => {
    it('reports the statements of each pending migration, leaving the live file byte-identical', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: { dir: t.dir.file('backups') } }, [
        migration('001_a'),
        migration('002_rows', (db) => {
          db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)');
          db.prepare('INSERT INTO items (label) VALUES (?)').run('first');
        }),
        migration(
          '003_vacuum',
          (db) => {
            db.exec('VACUUM');
          },
          { transaction: false },
        ),
      ]);
      try {
        await service.migrate({ to: '001_a' });
        const before = readFileSync(t.db);
        const report = await service.dryRun();
        expect(report.failed).toBeNull();
        expect(report.migrations.map((m) => [m.name, m.transaction])).toEqual([
          ['002_rows', true],
          ['003_vacuum', false],
        ]);
        expect(report.migrations[0].statements.map((st) => st.sql)).toEqual([
          'CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)',
          "INSERT INTO items (label) VALUES ('first')",
        ]);
        expect(report.migrations[1].statements.map((st) => st.sql)).toEqual(['VACUUM']);
        for (const st of report.migrations[0].statements) expect(st.durationMs).toBeGreaterThanOrEqual(0);
        expect(readFileSync(t.db).equals(before)).toBe(true);
        expect(historyNames(t.db)).toEqual(['001_a']);
        expect(readdirSync(t.dir.file('backups'))).toEqual([]);
        expect((await service.dryRun({ to: '002_rows' })).migrations.map((m) => m.name)).toEqual(['002_rows']);
      } finally {
        await app.close();
      }
    });

    it('reports the failing migration with the statements it issued, and touches nothing', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: false }, [
        migration('001_a'),
        migration('002_bad', (db) => {
          db.exec('CREATE TABLE ok (id INTEGER); SELECT * FROM missing_table');
        }),
      ]);
      try {
        await service.migrate({ to: '001_a' });
        const before = readFileSync(t.db);
        const report = await service.dryRun();
        expect(report.failed).toEqual({ migration: '002_bad', code: 'MIGRATION_FAILED', message: expect.stringContaining('no such table: missing_table') });
        expect(report.migrations.at(-1)!.statements[0].sql).toBe('CREATE TABLE ok (id INTEGER);');
        expect(readFileSync(t.db).equals(before)).toBe(true);
      } finally {
        await app.close();
      }
    });
    it('rehearses a table rebuild under a foreign key as the run does (enforcement off, violations checked)', async () => {
      const parentAndChild = migration('001_tables', (db) => {
        db.exec(
          'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE)',
        );
        db.exec("INSERT INTO users VALUES (1, 'a@example.com'); INSERT INTO posts VALUES (1, 1)");
      });
      // SQLite's documented rebuild: with enforcement on, DROP TABLE users would fail (or cascade).
      const rebuild = migration('002_rebuild_users', (db) => {
        db.exec(
          "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT ''); INSERT INTO users_new SELECT id, email FROM users; DROP TABLE users; ALTER TABLE users_new RENAME TO users",
        );
      });
      const orphan = migration('003_orphan', (db) => {
        db.exec('INSERT INTO posts VALUES (2, 99)');
      });
      const { app, service } = await serviceFor({ database: t.db, backup: false }, [parentAndChild, rebuild, orphan]);
      try {
        await service.migrate({ to: '001_tables' });
        const report = await service.dryRun();
        expect(report.migrations.map((m) => m.name)).toEqual(['002_rebuild_users', '003_orphan']);
        expect(report.failed).toMatchObject({ migration: '003_orphan', code: 'FOREIGN_KEY_VIOLATION' });
        expect((await service.dryRun({ to: '002_rebuild_users' })).failed).toBeNull();
        await service.migrate({ to: '002_rebuild_users' });
        expect(inspect(t.db, (d) => d.prepare('SELECT COUNT(*) FROM posts').pluck().get())).toBe(1);
      } finally {
        await app.close();
      }
    });

    it('makes the checks a run makes first: a changed checksum fails the dry run as it would fail up', async () => {
      const first = await serviceFor({ database: t.db, backup: false }, [migration('001_a')]);
      await first.service.migrate();
      await first.app.close();
      // The helper's classes share one method source, so the change is an explicit checksum.
      const changed = migration('001_a', undefined, { checksum: 'changed-since-applied' });
      const { app, service } = await serviceFor({ database: t.db, backup: false }, [changed, migration('002_b')]);
      try {
        await expect(service.dryRun()).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
        const status = await service.check();
        expect(status.state).toBe('failed');
        expect(status.lastError).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
        // The down() of changed code is not trusted either.
        await expect(service.revert()).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
        expect(historyNames(t.db)).toEqual(['001_a']);
      } finally {
        await app.close();
      }
    });
  });

  describe('check(), and options of repair() and migrate()', () => {
    it('check() reports an up-to-date or pending database as getStatus() does, and changes nothing', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: false }, reversible());
      try {
        expect((await service.check()).state).toBe('pending');
        expect(tableNames(t.db)).toEqual([]);
        await service.migrate();
        expect((await service.check()).state).toBe('up-to-date');
      } finally {
        await app.close();
      }
    });

    it('repair({ apply: false }) leaves pending migrations for up; migrate({ to: typo }) rejects even with failOnError: false', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: false, failOnError: false }, reversible());
      try {
        await service.migrate({ to: '001_a' });
        await service.repair({ apply: false });
        expect(historyNames(t.db)).toEqual(['001_a']);
        await expect(service.migrate({ to: '002_typo' })).rejects.toThrow(UnknownMigrationError);
        await service.repair();
        expect(historyNames(t.db)).toEqual(['001_a', '002_b', '003_c']);
      } finally {
        await app.close();
      }
    });
  });

  describe('unlock()', () => {
    it('clears a lease row left by a dead holder, and refuses while a live process holds the lock', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: false }, [migration('001_a')]);
      try {
        await service.migrate();
        expect(await service.unlock()).toEqual({ cleared: false, holder: null });
        // What a holder killed mid-run leaves: the row says held, the operating-system lock is gone.
        inspectWritable(t.db, (d) =>
          d
            .prepare(
              "UPDATE migration_lock SET in_progress = 1, started_at = '2026-01-01T00:00:00.000Z', owner_host = 'gone', owner_pid = 99999, owner_instance = 'dead' WHERE id = 1",
            )
            .run(),
        );
        const result = await service.unlock();
        expect(result.cleared).toBe(true);
        expect(result.holder?.owner).toEqual({ host: 'gone', pid: 99999, instanceId: 'dead' });
        expect(inspect(t.db, (d) => d.prepare('SELECT in_progress, owner_pid FROM migration_lock').get())).toEqual({ in_progress: 0, owner_pid: null });

        const holder = new BetterSqlite3(`${t.db}.migration-lock`);
        holder.exec('BEGIN IMMEDIATE');
        try {
          const error = await service.unlock().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(LockHeldError);
          expect((error as LockHeldError).code).toBe('LOCK_HELD');
        } finally {
          holder.exec('ROLLBACK');
          holder.close();
        }
      } finally {
        await app.close();
      }
    });
  });

  describe('backup()', () => {
    it('writes a verified backup on demand, and says so when backups are off', async () => {
      const { app, service } = await serviceFor({ database: t.db, backup: { dir: t.dir.file('backups') } }, [migration('001_a')]);
      try {
        await service.migrate();
        const backup = await service.backup();
        expect(backup.file).toMatch(/^app\.db\..*\.001_a\.backup$/);
        expect(inspect(t.dir.file(`backups/${backup.file}`), (d) => d.prepare('SELECT name FROM migrations').pluck().all())).toEqual(['001_a']);
      } finally {
        await app.close();
      }
      const off = await serviceFor({ database: t.db, backup: false }, [migration('001_a')]);
      try {
        await expect(off.service.backup()).rejects.toThrow(BackupDisabledError);
      } finally {
        await off.app.close();
      }
    });
  });
});

function inspectWritable<T>(file: string, fn: (db: Database) => T): T {
  const db = new BetterSqlite3(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

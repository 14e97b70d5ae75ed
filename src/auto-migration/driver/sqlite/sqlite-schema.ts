import { ForeignHistoryTableError } from '../../errors/foreign-history-table.error';

/**
 * The module's own tables on SQLite. The layout is public (see the contract): the design
 * document's SQL runs against it verbatim. `SCHEMA_VERSION` is recorded in `migration_meta`;
 * `upgradeSchema` brings a database created by an earlier release up to it in place, and an
 * earlier release keeps working on an upgraded one (it names the columns it reads and writes).
 *
 * Versions: 1 = migrations, migration_lock (in_progress, started_at), migration_meta.
 *           2 = lease owner, heartbeat and current migration on migration_lock; migration_attempts.
 *           3 = migrations_archive (the columns of migrations, as the design document's
 *               `CREATE TABLE migrations_archive AS SELECT * FROM migrations ...` makes it).
 *           4 = migrations.source_hash (lets a start skip normalising unchanged classes).
 */
export const SCHEMA_VERSION = 4;

/** The history's columns: the archive has the same ones, so rows move between them unchanged. */
const HISTORY_COLUMNS = `  name TEXT NOT NULL UNIQUE,
  version TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time_ms INTEGER NOT NULL`;

const CREATE_TABLES = `
CREATE TABLE IF NOT EXISTS migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
${HISTORY_COLUMNS}
);
CREATE INDEX IF NOT EXISTS idx_migrations_name ON migrations(name);
CREATE INDEX IF NOT EXISTS idx_migrations_applied_at ON migrations(applied_at);
CREATE INDEX IF NOT EXISTS idx_migrations_version ON migrations(version);
CREATE TABLE IF NOT EXISTS migration_lock (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  in_progress INTEGER NOT NULL DEFAULT 0,
  started_at TEXT
);
INSERT OR IGNORE INTO migration_lock (id, in_progress, started_at) VALUES (1, 0, NULL);
CREATE TABLE IF NOT EXISTS migration_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS migrations_archive (
  id INTEGER PRIMARY KEY,
${HISTORY_COLUMNS}
);
CREATE TABLE IF NOT EXISTS migration_attempts (
  name TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  started_at TEXT NOT NULL,
  failed_at TEXT,
  error TEXT,
  owner_host TEXT,
  owner_pid INTEGER,
  owner_instance TEXT
);
`;

/** Columns added to `migration_lock` by version 2 (ALTER TABLE cannot say IF NOT EXISTS). */
const LEASE_COLUMNS: readonly [string, string][] = [
  ['owner_host', 'TEXT'],
  ['owner_pid', 'INTEGER'],
  ['owner_instance', 'TEXT'],
  ['heartbeat_at', 'TEXT'],
  ['current_migration', 'TEXT'],
];

const RECORD_VERSION = `
INSERT INTO migration_meta (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < ${SCHEMA_VERSION}`;

/** Columns each table has had since it first appeared: a table of that name without them is not ours. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  migrations: ['id', 'name', 'version', 'description', 'checksum', 'applied_at', 'execution_time_ms'],
  migration_lock: ['id', 'in_progress', 'started_at'],
  migration_meta: ['key', 'value'],
  migration_attempts: ['name', 'version', 'started_at', 'failed_at', 'error', 'owner_host', 'owner_pid', 'owner_instance'],
  migrations_archive: ['name', 'version', 'description', 'checksum', 'applied_at', 'execution_time_ms'],
};

type SchemaConnection = { exec(sql: string): unknown; pragma(sql: string): unknown };

/**
 * Creates or upgrades the tables. Runs inside the caller's transaction, under the migration lock.
 * Throws `ForeignHistoryTableError` before changing anything when a table of one of our names
 * was created by another tool.
 */
export function upgradeSchema(db: SchemaConnection): void {
  assertTablesAreOurs(db);
  db.exec(CREATE_TABLES);
  const present = columnsOf(db, 'migration_lock');
  for (const [column, type] of LEASE_COLUMNS) {
    if (!present.has(column)) db.exec(`ALTER TABLE migration_lock ADD COLUMN ${column} ${type}`);
  }
  if (!columnsOf(db, 'migrations').has('source_hash')) db.exec('ALTER TABLE migrations ADD COLUMN source_hash TEXT');
  db.exec(RECORD_VERSION);
}

/** Throws `ForeignHistoryTableError` when a table of one of our names was created by another tool. Reads only. */
export function assertTablesAreOurs(db: SchemaConnection): void {
  for (const [table, required] of Object.entries(REQUIRED_COLUMNS)) {
    const present = columnsOf(db, table);
    const missing = required.filter((c) => !present.has(c));
    if (present.size > 0 && missing.length > 0) throw new ForeignHistoryTableError(table, missing, 'use another database file');
  }
}

/** Column names of a table; empty when it does not exist. Table names here are our constants. */
function columnsOf(db: SchemaConnection, table: string): Set<string> {
  return new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
}

export const SELECT_SCHEMA_VERSION = `SELECT CAST(value AS INTEGER) AS version FROM migration_meta WHERE key = 'schema_version'`;

export const SELECT_HISTORY = `
SELECT name, version, description, checksum, applied_at AS appliedAt, execution_time_ms AS executionTimeMs, source_hash AS sourceHash
FROM migrations ORDER BY id`;

/** The history of a database of schema 1 to 3 (before source_hash), read before it is upgraded. */
export const SELECT_HISTORY_BEFORE_V4 = `
SELECT name, version, description, checksum, applied_at AS appliedAt, execution_time_ms AS executionTimeMs
FROM migrations ORDER BY id`;

export const SELECT_ARCHIVE = `
SELECT name, version, description, checksum, applied_at AS appliedAt, execution_time_ms AS executionTimeMs
FROM migrations_archive ORDER BY applied_at, name`;

/**
 * Moves history rows applied before @cutoff to the archive (a name already archived is not copied
 * twice). Compared as dates, not text: rows written by hand with SQLite's datetime('now') format
 * ('2026-11-28 12:00:00') must not sort before ISO ones of the same day.
 */
export const ARCHIVE_ROWS = `
INSERT INTO migrations_archive (name, version, description, checksum, applied_at, execution_time_ms)
SELECT name, version, description, checksum, applied_at, execution_time_ms FROM migrations
WHERE julianday(applied_at) < julianday(@cutoff) AND name NOT IN (SELECT name FROM migrations_archive)
ORDER BY id`;

export const SELECT_ARCHIVABLE = `SELECT name FROM migrations WHERE julianday(applied_at) < julianday(@cutoff) ORDER BY id`;

export const DELETE_ARCHIVED = `DELETE FROM migrations WHERE julianday(applied_at) < julianday(@cutoff)`;

export const INSERT_HISTORY = `
INSERT INTO migrations (name, version, description, checksum, applied_at, execution_time_ms, source_hash)
VALUES (@name, @version, @description, @checksum, @appliedAt, @executionTimeMs, @sourceHash)`;

export const SELECT_LEASE = `
SELECT in_progress AS inProgress, started_at AS startedAt, heartbeat_at AS heartbeatAt, current_migration AS current,
       owner_host AS host, owner_pid AS pid, owner_instance AS instanceId
FROM migration_lock WHERE id = 1`;

export const TAKE_LEASE = `
UPDATE migration_lock SET in_progress = 1, started_at = @now, heartbeat_at = @now, current_migration = NULL,
  owner_host = @host, owner_pid = @pid, owner_instance = @instanceId
WHERE id = 1`;

export const CLEAR_LEASE = `
UPDATE migration_lock SET in_progress = 0, started_at = NULL, heartbeat_at = NULL, current_migration = NULL,
  owner_host = NULL, owner_pid = NULL, owner_instance = NULL
WHERE id = 1`;

export const HEARTBEAT = `UPDATE migration_lock SET heartbeat_at = @now WHERE id = 1`;

export const SET_CURRENT = `UPDATE migration_lock SET current_migration = @current, heartbeat_at = @now WHERE id = 1`;

export const SELECT_ATTEMPTS = `
SELECT name, version, started_at AS startedAt, failed_at AS failedAt, error,
       owner_host AS host, owner_pid AS pid, owner_instance AS instanceId
FROM migration_attempts ORDER BY name`;

export const INSERT_ATTEMPT = `
INSERT OR REPLACE INTO migration_attempts (name, version, started_at, failed_at, error, owner_host, owner_pid, owner_instance)
VALUES (@name, @version, @now, NULL, NULL, @host, @pid, @instanceId)`;

export const FAIL_ATTEMPT = `UPDATE migration_attempts SET failed_at = @now, error = @error WHERE name = @name`;

export const DELETE_ATTEMPT = `DELETE FROM migration_attempts WHERE name = @name`;

/** Tables, indexes, views and triggers that are not the module's own (nor SQLite's). */
export const COUNT_FOREIGN_OBJECTS = `
SELECT COUNT(*) AS count FROM sqlite_master
WHERE name NOT LIKE 'sqlite_%'
  AND name NOT IN ('migrations', 'migration_lock', 'migration_meta', 'migration_attempts', 'migrations_archive',
                   'idx_migrations_name', 'idx_migrations_applied_at', 'idx_migrations_version')
  AND name NOT LIKE 'sqlite_autoindex_%'`;

export const UPDATE_CHECKSUM = `UPDATE migrations SET checksum = @checksum, source_hash = @sourceHash WHERE name = @name`;

export const DELETE_ALL_ATTEMPTS = `DELETE FROM migration_attempts`;

export const RECORD_REPAIR = `
INSERT INTO migration_meta (key, value) VALUES ('last_repair_at', @at)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

export const DELETE_HISTORY = `DELETE FROM migrations WHERE name = @name`;

export const RECORD_BASELINE = `
INSERT INTO migration_meta (key, value) VALUES ('baseline_to', @to), ('baseline_at', @at)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/**
 * The module's own tables on SQLite. The layout is public (see the contract): the design
 * document's SQL runs against it verbatim. `SCHEMA_VERSION` is recorded in `migration_meta`
 * so that a later release can upgrade a database created by this one in place.
 */
export const SCHEMA_VERSION = 1;

export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  version TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  execution_time_ms INTEGER NOT NULL
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
INSERT INTO migration_meta (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < ${SCHEMA_VERSION};
`;

export const SELECT_SCHEMA_VERSION = `SELECT CAST(value AS INTEGER) AS version FROM migration_meta WHERE key = 'schema_version'`;

export const SELECT_HISTORY = `
SELECT name, version, description, checksum, applied_at AS appliedAt, execution_time_ms AS executionTimeMs
FROM migrations ORDER BY id`;

export const INSERT_HISTORY = `
INSERT INTO migrations (name, version, description, checksum, applied_at, execution_time_ms)
VALUES (@name, @version, @description, @checksum, @appliedAt, @executionTimeMs)`;

export const UPDATE_LEASE = `UPDATE migration_lock SET in_progress = @inProgress, started_at = @startedAt WHERE id = 1`;

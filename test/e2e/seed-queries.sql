SELECT name, version, applied_at, execution_time_ms FROM migrations ORDER BY applied_at DESC;
SELECT * FROM migrations WHERE name = 'migration_name';
SELECT * FROM migration_lock;
UPDATE migration_lock SET in_progress = 0, started_at = NULL WHERE id = 1;

import type { Database } from 'better-sqlite3';
import type { SqlitePragmas } from '../auto-migration.options';
import type { MigrationDefinition } from '../discovery/migration-definition';
import { RehearsalFailedError } from '../errors/rehearsal-failed.error';
import { runOnCopy } from './copy-run';

/**
 * Applies the pending migrations to a throwaway copy of the database (never the backup), so that
 * a migration that would fail is caught before the live database is touched.
 */
export async function rehearse(
  source: Database,
  database: string,
  pragmas: SqlitePragmas,
  pending: readonly MigrationDefinition[],
  folder: string | null,
): Promise<void> {
  const { failure } = await runOnCopy(source, database, pragmas, pending, folder);
  if (failure) throw new RehearsalFailedError(failure.migration, failure.cause);
}

import type { MigrationDefinition } from '../discovery/migration-definition';
import type { CopyRehearsal } from '../driver/capabilities';
import type { DatabaseDriver } from '../driver/database-driver';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { RehearsalFailedError } from '../errors/rehearsal-failed.error';
import { runOnCopy } from './copy-run';
import type { MigrationApplier } from './migration-applier';

/**
 * Applies the pending migrations to a throwaway copy of the database (never the backup), so that
 * a migration that would fail is caught before the live database is touched.
 */
export async function rehearse(
  applier: MigrationApplier,
  rehearsal: CopyRehearsal,
  pending: readonly MigrationDefinition[],
  folder: string | null,
): Promise<void> {
  const { failure } = await runOnCopy(applier, rehearsal, pending, folder);
  if (failure) throw new RehearsalFailedError(failure.migration, failure.cause);
}

/** The driver's copies, for a rehearsal or a dry run; refused for a database that cannot be copied. */
export function copies(driver: DatabaseDriver): CopyRehearsal {
  if (!driver.rehearsal) throw new InvalidOptionsError(['rehearse: this database cannot be copied, so neither a rehearsal nor a dry run can run on it']);
  return driver.rehearsal;
}

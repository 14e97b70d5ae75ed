/** What a migration history says, read against the code: its newest entry, its changed checksums. */
import type { MigrationDefinition } from '../discovery/migration-definition';
import { compareNames } from '../discovery/migration-validator';
import type { HistoryRecord } from '../driver/history-store';
import type { ChecksumMismatch } from '../errors/checksum-mismatch.error';

/** The newest migration in a history, by name order (the order they apply in); null when empty. */
export function newestOf(history: readonly HistoryRecord[]): string | null {
  return history.reduce<string | null>((newest, h) => (newest === null || compareNames(h.name, newest) > 0 ? h.name : newest), null);
}

/** Applied migrations of this code whose checksum differs from the stored one. */
export function checksumMismatches(migrations: readonly MigrationDefinition[], history: readonly HistoryRecord[]): ChecksumMismatch[] {
  const byName = namesOf(migrations);
  const mismatches: ChecksumMismatch[] = [];
  // A plain loop: a start checks every applied migration, and this runs on every start.
  for (const h of history) {
    // Archived rows are settled history: their checksums are no longer validated.
    if (h.archived || h.checksum === '') continue;
    const definition = byName.get(h.name);
    // The same compiled text gives the same checksum: no need to normalise it again.
    if (!definition || (h.sourceHash && definition.sourceHash === h.sourceHash)) continue;
    if (h.checksum !== definition.checksum) mismatches.push({ migration: h.name, stored: h.checksum, current: definition.checksum });
  }
  return mismatches;
}

/** The migrations by name, built once per list (the discovered list lives as long as the app). */
const byNameCache = new WeakMap<readonly MigrationDefinition[], ReadonlyMap<string, MigrationDefinition>>();

function namesOf(migrations: readonly MigrationDefinition[]): ReadonlyMap<string, MigrationDefinition> {
  let byName = byNameCache.get(migrations);
  if (!byName) {
    byName = new Map(migrations.map((m) => [m.name, m]));
    byNameCache.set(migrations, byName);
  }
  return byName;
}

/** The history row of `migration`, applied now (or at `appliedAt`) in `executionTimeMs`. */
export function historyRecordFor(
  migration: Pick<MigrationDefinition, 'name' | 'version' | 'description' | 'checksum'> & { storedSourceHash?: string | null },
  executionTimeMs: number,
  appliedAt = new Date().toISOString(),
): HistoryRecord {
  const { name, version, description, checksum, storedSourceHash = null } = migration;
  return { name, version, description, checksum, sourceHash: storedSourceHash, appliedAt, executionTimeMs };
}

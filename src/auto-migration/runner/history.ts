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
  const byName = new Map(migrations.map((m) => [m.name, m]));
  return history.flatMap((h) => {
    // Archived rows are settled history: their checksums are no longer validated.
    if (h.archived || h.checksum === '') return [];
    const definition = byName.get(h.name);
    if (!definition) return [];
    // The same compiled text gives the same checksum: no need to normalise it again.
    if (h.sourceHash && definition.sourceHash === h.sourceHash) return [];
    return h.checksum !== definition.checksum ? [{ migration: h.name, stored: h.checksum, current: definition.checksum }] : [];
  });
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

import type { MigrationDefinition } from '../discovery/migration-definition';

/** Migrations that commit together, or one `transaction: false` migration run on its own. */
export interface Batch {
  readonly transactional: boolean;
  readonly migrations: readonly MigrationDefinition[];
}

/**
 * Splits the pending list into transactions. `'each'`: one per migration. `'all'`: one per run of
 * consecutive transactional migrations with the same `foreignKeys` mode, because a
 * `transaction: false` migration cannot run inside one and so splits the batch.
 */
export function planBatches(pending: readonly MigrationDefinition[], mode: 'each' | 'all'): Batch[] {
  const batches: { transactional: boolean; migrations: MigrationDefinition[] }[] = [];
  for (const migration of pending) {
    const last = batches[batches.length - 1];
    // Foreign-key handling is set per transaction, so a change of mode also starts a new batch.
    const joins = migration.transaction && mode === 'all' && last?.transactional && last.migrations[0].foreignKeys === migration.foreignKeys;
    if (joins) last.migrations.push(migration);
    else batches.push({ transactional: migration.transaction, migrations: [migration] });
  }
  return batches;
}

import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/**
 * A pending migration sorts before the newest applied one: it was added (or renamed) after later
 * migrations had already run, so applying it now would run migrations in a different order here
 * than on a fresh database.
 */
export class OutOfOrderMigrationError extends AutoMigrationError {
  readonly code = 'OUT_OF_ORDER_MIGRATION';

  constructor(
    /** The pending migrations that sort before `newestApplied`. */
    readonly outOfOrder: readonly string[],
    /** The applied migration whose name sorts last. */
    readonly newestApplied: string,
  ) {
    super(
      `Pending migration${outOfOrder.length === 1 ? '' : 's'} ${outOfOrder.map(quoted).join(', ')} ` +
        `sort${outOfOrder.length === 1 ? 's' : ''} before ${quoted(newestApplied)}, which is already applied. ` +
        'Rename it with a prefix after the newest applied migration, or set allowOutOfOrder: true if applying it late is safe.',
      { migration: outOfOrder[0] },
    );
  }
}

import type { Logger } from '@nestjs/common';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { ForeignKeyControl } from '../driver/capabilities';
import { ForeignKeyMismatchError } from '../errors/foreign-key-mismatch.error';
import { step } from './database-step';

/**
 * Foreign keys around a migration (or an 'all' batch). `PRAGMA foreign_keys = OFF` is a no-op
 * inside a transaction, so enforcement is turned off before BEGIN: a table rebuild (create new,
 * copy, drop old, rename) then cannot cascade-delete child rows. The violations present before
 * are remembered, so that only the ones the migration adds count (an old database's existing
 * violations must not block every migration). Counts are compared per table.
 */
export class ForeignKeyGuard {
  private constructor(
    private readonly driver: ForeignKeyControl | null,
    private readonly previous: boolean,
    private readonly before: ReadonlyMap<string, number>,
    private readonly uncheckedBefore: readonly string[],
  ) {}

  /** The violations `added()` last saw: the state a following migration starts from, if this one commits. */
  after?: { counts: Map<string, number>; unchecked: string[] };

  /**
   * Turns enforcement off and records the current violations; a no-op for `foreignKeys: 'enforce'`.
   * `known`: the violations after the previous committed migration of this run, which are the
   * current ones, so the check (a scan of every table with foreign keys) is not run twice.
   */
  static async around(
    driver: ForeignKeyControl | undefined,
    migration: MigrationDefinition,
    logger: Logger,
    known?: { counts: Map<string, number>; unchecked: string[] },
  ): Promise<ForeignKeyGuard> {
    // A database whose foreign keys cannot be switched off per connection has no rebuild to guard.
    if (migration.foreignKeys === 'enforce' || !driver) return new ForeignKeyGuard(null, true, new Map(), []);
    const previous = await step('turn foreign-key enforcement off', () => driver.setForeignKeys(false));
    try {
      const { counts, unchecked } = known ?? (await step('check foreign keys', () => driver.foreignKeyViolations()));
      if (unchecked.length > 0 && !known) {
        logger.warn(
          `Foreign keys of ${unchecked.join(', ')} cannot be checked (SQLite reports a foreign key mismatch: the parent key is not unique); migrations are not checked against them`,
        );
      }
      return new ForeignKeyGuard(driver, previous, counts, unchecked);
    } catch (error) {
      await step('restore foreign-key enforcement', () => driver.setForeignKeys(previous));
      throw error;
    }
  }

  /**
   * Violations added since `around()`, per table. Throws `ForeignKeyMismatchError` when the
   * migrations made a table's foreign keys uncheckable (they broke its parent key).
   */
  async added(migrations: readonly string[]): Promise<Map<string, number>> {
    if (!this.driver) return new Map();
    const driver = this.driver;
    const { counts, unchecked } = await step('check foreign keys', () => driver.foreignKeyViolations());
    this.after = { counts, unchecked };
    const broken = unchecked.filter((table) => !this.uncheckedBefore.includes(table));
    if (broken.length > 0) throw new ForeignKeyMismatchError(migrations, broken);
    const added = new Map<string, number>();
    for (const [table, count] of counts) if (count > (this.before.get(table) ?? 0)) added.set(table, count - (this.before.get(table) ?? 0));
    return added;
  }

  /** Whether `restore()` changes anything: this guard turned enforcement off. */
  get restores(): boolean {
    return this.driver !== null && this.previous;
  }

  /** Puts enforcement back as it was. Call after COMMIT or ROLLBACK (it is a no-op inside a transaction). */
  async restore(): Promise<void> {
    if (!this.driver) return;
    const driver = this.driver;
    await step('restore foreign-key enforcement', () => driver.setForeignKeys(this.previous));
  }
}

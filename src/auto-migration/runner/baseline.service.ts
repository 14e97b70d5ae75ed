import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, MIGRATION_DRIVER } from '../auto-migration.constants';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import { BaselineRefusedError } from '../errors/baseline-refused.error';
import { InvalidArgumentError } from '../errors/invalid-argument.error';
import { UnknownMigrationError } from '../errors/unknown-migration.error';
import { MigrationLease } from '../lock/migration-lease';
import { inTransaction, step } from './database-step';
import { historyRecordFor, newestOf } from './history';
import { MigrationLogger } from '../logging/migration-logger';

/** What `baseline()` recorded. */
export interface BaselineResult {
  /** Migrations recorded as applied without running, in order. */
  recorded: string[];
  /** When (ISO-8601); also their `applied_at`, and `migration_meta.baseline_at`. */
  at: string;
}

/**
 * Adopts the module on a database that existed before it: records every migration up to and
 * including `to` as applied, without running it (execution time 0, `migration_meta.baseline_to`
 * says so). Refused on a database that already has a history, like Flyway's baseline.
 */
@Injectable()
export class BaselineService {
  constructor(
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly logger: MigrationLogger,
  ) {}

  async baseline(options: { to: string }): Promise<BaselineResult> {
    const to = options?.to;
    if (typeof to !== 'string' || to === '') throw new InvalidArgumentError('baseline()', 'to', 'a migration name', to);
    const index = this.migrations.findIndex((m) => m.name === to);
    if (index < 0) throw new UnknownMigrationError(to, 'in the code');
    const baselined = this.migrations.slice(0, index + 1);
    return this.lease.exclusively({}, async () => {
      await step('inspect the module tables', () => this.driver.history.assertTablesAreOurs());
      const history = await step('read the migration history', () => this.driver.history.readHistory());
      if (history.length > 0) throw new BaselineRefusedError(history.length, newestOf(history));
      // Only the module's own tables change (no backup needed): the application's are left as they are.
      await step('prepare the module tables', () => this.lease.announce());
      const at = new Date().toISOString();
      await step('record the baseline', () =>
        inTransaction(this.driver.session, async () => {
          for (const migration of baselined) await this.driver.history.recordApplied(historyRecordFor(migration, 0, at));
          await this.driver.history.recordBaseline(to, at);
        }),
      );
      this.logger.log(`Baseline: recorded ${baselined.length} migration${baselined.length === 1 ? '' : 's'} up to ${to} as applied, without running them`);
      return { recorded: baselined.map((m) => m.name), at };
    });
  }
}

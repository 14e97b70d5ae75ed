import { Inject, Injectable } from '@nestjs/common';
import { DISCOVERED_MIGRATIONS, MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { ChecksumMismatchError } from '../errors/checksum-mismatch.error';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import type { HistoryRecord } from '../driver/history-store';
import { InterruptedMigrationError } from '../errors/interrupted-migration.error';
import { InvalidArgumentError } from '../errors/invalid-argument.error';
import { MissingDownError } from '../errors/missing-down.error';
import { UnknownMigrationError } from '../errors/unknown-migration.error';
import { MigrationLease } from '../lock/migration-lease';
import { step } from './database-step';
import { checksumMismatches, newestOf } from './history';
import { MigrationApplier } from './migration-applier';
import { MigrationLogger } from '../logging/migration-logger';

/** What `revert()` undid. */
export interface RevertResult {
  /** Reverted migrations, newest first, with how long each `down()` took. */
  reverted: {
    /** The migration's name. */
    name: string;
    /** Its `down()` with its transaction (the history row's deletion, the foreign-key check), in whole milliseconds. */
    durationMs: number;
  }[];
  /** File name of the backup written before the first `down()`, or null (nothing to revert, backups off, in memory). */
  backup: string | null;
}

/** Which applied migrations to revert: the newest `steps`, or every one from `to` on. */
export interface RevertOptions {
  /** How many of the newest applied migrations to revert. @default 1 */
  steps?: number;
  /** Revert this migration and every one applied after it. */
  to?: string;
}

/**
 * Reverts applied migrations through their `down()`, newest first, under the lock, after a
 * backup. Every migration on the way is checked first: if one has no `down()` (or is not in the
 * code, or is archived, or its code changed since it was applied while `validateChecksums` is
 * true), nothing is reverted. Each `down()` runs in a transaction with the
 * deletion of its history row, with the same foreign-key check as `up()` (see `MigrationApplier.revert`).
 */
@Injectable()
export class RevertService {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(DISCOVERED_MIGRATIONS) private readonly migrations: readonly MigrationDefinition[],
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly lease: MigrationLease,
    private readonly backup: BackupService,
    private readonly applier: MigrationApplier,
    private readonly logger: MigrationLogger,
  ) {}

  async revert(options: RevertOptions = {}): Promise<RevertResult> {
    const { steps, to } = options ?? {};
    if (steps !== undefined && to !== undefined) throw new InvalidArgumentError('revert()', 'options', 'either { steps } or { to }, not both', options);
    if (steps !== undefined && (!Number.isInteger(steps) || steps < 1))
      throw new InvalidArgumentError('revert()', 'steps', 'a whole number of at least 1', steps);
    if (to !== undefined && (typeof to !== 'string' || to === '')) throw new InvalidArgumentError('revert()', 'to', 'a migration name', to);
    return this.lease.exclusively({}, () => this.revertLocked(steps ?? 1, to));
  }

  private async revertLocked(steps: number, to: string | undefined): Promise<RevertResult> {
    await step('inspect the module tables', () => this.driver.history.assertTablesAreOurs());
    const history = await step('read the migration history', () => this.driver.history.readHistory());
    const attempts = await step('read interrupted migrations', () => this.driver.history.readAttempts());
    if (attempts.length > 0) throw new InterruptedMigrationError(attempts);
    const targets = this.targets(history, steps, to);
    // The down() of code that changed since its up() ran may not undo what that up() did.
    const changed = this.options.validateChecksums === true ? checksumMismatches(this.migrations, targets) : [];
    if (changed.length > 0) throw new ChecksumMismatchError(changed);
    if (targets.length === 0) {
      this.logger.log('Revert: no applied migration to revert');
      return { reverted: [], backup: null };
    }
    const definitions = this.definitionsOf(targets);
    const backup = this.backup.folder ? (await this.backup.write(newestOf(history), { before: 'revert' })).file : null;
    await step('prepare the module tables', () => this.lease.announce());
    const reverted: RevertResult['reverted'] = [];
    for (const [index, migration] of definitions.entries()) {
      const durationMs = await this.applier.revert(
        migration,
        reverted.map((r) => r.name),
      );
      reverted.push({ name: migration.name, durationMs });
      this.logger.log(`[${index + 1}/${definitions.length}] reverted ${migration.name} (${durationMs} ms)`);
      await this.lease.beat();
    }
    this.logger.log(`Reverted ${reverted.length} migration${reverted.length === 1 ? '' : 's'}: ${reverted.map((r) => r.name).join(', ')}`);
    return { reverted, backup };
  }

  /** The history rows to revert, newest (last applied) first. */
  private targets(history: readonly HistoryRecord[], steps: number, to: string | undefined): HistoryRecord[] {
    const live = history.filter((h) => !h.archived);
    if (to === undefined) return live.slice(-steps).reverse();
    const index = live.findIndex((h) => h.name === to);
    if (index >= 0) return live.slice(index).reverse();
    if (history.some((h) => h.name === to)) {
      throw new MissingDownError([{ migration: to, reason: 'is archived (settled history is not reverted)' }]);
    }
    throw new UnknownMigrationError(to, 'in the applied history');
  }

  /** The code of each target; refuses, naming every one, when any cannot be reverted. */
  private definitionsOf(targets: readonly HistoryRecord[]): MigrationDefinition[] {
    const byName = new Map(this.migrations.map((m) => [m.name, m]));
    const problems: { migration: string; reason: string }[] = [];
    const definitions: MigrationDefinition[] = [];
    for (const target of targets) {
      const definition = byName.get(target.name);
      if (!definition) problems.push({ migration: target.name, reason: 'is not in this code' });
      else if (typeof definition.instance().down !== 'function') problems.push({ migration: target.name, reason: `(${definition.className}) has no down()` });
      else definitions.push(definition);
    }
    if (problems.length > 0) throw new MissingDownError(problems);
    return definitions;
  }
}

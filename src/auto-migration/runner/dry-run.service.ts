import { Inject, Injectable } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { BackupService } from '../backup/backup.service';
import type { MigrationDriver } from '../driver/migration-driver';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { type CopyRunMigration, runOnCopy } from './copy-run';
import { MigrationRunner } from './migration.runner';

/** What `up --dry-run` found. */
export interface DryRunReport {
  /** The pending migrations that ran on the copy, in order, each with its statements and time. */
  migrations: CopyRunMigration[];
  /** The migration that failed on the copy (it is the last in `migrations`), or null. */
  failed: { migration: string; code: string; message: string } | null;
}

/**
 * Applies what is pending to a temporary copy of the database and reports every statement each
 * migration issued. The live file is only read (it stays byte-identical): no lock, no lease, no
 * history row, no backup. The checks a run makes first (checksums, interrupted attempts, out of
 * order) are made first here too. Side effects of injected services are not rehearsed.
 */
@Injectable()
export class DryRunService {
  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    @Inject(MIGRATION_DRIVER) private readonly driver: MigrationDriver,
    private readonly runner: MigrationRunner,
    private readonly backup: BackupService,
  ) {}

  async dryRun(options: { to?: string } = {}): Promise<DryRunReport> {
    // The checks a run makes first: a dry run must not promise what `up` would refuse.
    const pending = await this.runner.preflight(options?.to);
    if (pending.length === 0) return { migrations: [], failed: null };
    for (const migration of pending) migration.instance();
    const run = await runOnCopy(this.driver.connection as Database, this.options.database, this.options.pragmas, pending, this.backup.folder);
    const failure = run.failure;
    return {
      migrations: run.migrations,
      failed: failure && {
        migration: failure.migration,
        code: failure.cause instanceof AutoMigrationError ? failure.cause.code : 'MIGRATION_FAILED',
        message: describeCause(failure.cause),
      },
    };
  }
}

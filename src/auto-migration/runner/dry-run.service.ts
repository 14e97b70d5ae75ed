import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER } from '../auto-migration.constants';
import { BackupService } from '../backup/backup.service';
import type { DatabaseDriver } from '../driver/database-driver';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { type CopyRunMigration, runOnCopy } from './copy-run';
import { copies } from './rehearsal';
import { MigrationApplier } from './migration-applier';
import { MigrationRunner } from './migration.runner';
import type { Finding } from '../safety/finding';
import { SafetyAnalysisService } from '../safety/safety-analysis.service';

/** What `up --dry-run` found. */
export interface DryRunReport {
  /** Where they ran: a temporary copy of the database (SQLite), or a transaction of the live database that was rolled back (PostgreSQL). */
  on: 'copy' | 'rolled-back transaction';
  /** The pending migrations that ran on the copy, in order, each with its statements and time. */
  migrations: CopyRunMigration[];
  /** The migration that failed on the copy (it is the last in `migrations`), or null. */
  failed: {
    /** The migration's name. */
    migration: string;
    /** `MIGRATION_FAILED` for an error the migration threw, else the module error's code (e.g. `FOREIGN_KEY_VIOLATION`). */
    code: string;
    /** What it threw: the database's message, or the module's. */
    message: string;
  } | null;
  /** What the safety analysis found (see `lint`); empty when asked not to analyse. */
  findings: Finding[];
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
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    private readonly runner: MigrationRunner,
    private readonly backup: BackupService,
    private readonly applier: MigrationApplier,
    private readonly safety: SafetyAnalysisService,
  ) {}

  /** `analyse: false` leaves the safety analysis out (no schema snapshots): the copy run alone. */
  async dryRun(options: { to?: string; analyse?: boolean } = {}): Promise<DryRunReport> {
    // The checks a run makes first: a dry run must not promise what `up` would refuse.
    const pending = await this.runner.preflight({ to: options?.to, wait: true });
    const rehearsal = copies(this.driver);
    if (pending.length === 0) return { on: rehearsal.kind, migrations: [], failed: null, findings: [] };
    for (const migration of pending) migration.instance();
    const { run, findings } =
      options.analyse === false
        ? { run: await runOnCopy(this.applier, rehearsal, pending, this.backup.folder), findings: [] }
        : await this.safety.rehearse(pending, undefined, { required: false });
    const failure = run.failure;
    return {
      on: rehearsal.kind,
      migrations: run.migrations,
      failed: failure && {
        migration: failure.migration,
        code: failure.cause instanceof AutoMigrationError ? failure.cause.code : 'MIGRATION_FAILED',
        message: describeCause(failure.cause),
      },
      findings,
    };
  }
}

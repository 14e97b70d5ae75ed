import { Inject, Injectable } from '@nestjs/common';
import { MIGRATION_DRIVER, RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { BackupService } from '../backup/backup.service';
import type { MigrationDefinition } from '../discovery/migration-definition';
import type { DatabaseDriver } from '../driver/database-driver';
import type { RehearsalCopy } from '../driver/capabilities';
import { AutoMigrationError, describeCause } from '../errors/auto-migration.error';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { type CopyRun, type CopyRunMigration, type CopyRunObserver, runOnCopy } from '../runner/copy-run';
import { MigrationApplier } from '../runner/migration-applier';
import { copies } from '../runner/rehearsal';
import { analyzeMigration, type RehearsedMigration, type SameName, sameName, tableRenames } from './analyze-migration';
import { countViolation } from './constraint-violation';
import type { Finding, SafetyReport } from './finding';
import type { RelationLock, SchemaInspector, SchemaSnapshot } from './schema-snapshot';

/** The rehearsal's copy run, and what the analysis found in it: for the dry run, which shows both. */
export interface AnalysedRun {
  readonly kind: SafetyReport['on'];
  readonly run: CopyRun;
  readonly findings: Finding[];
}

/**
 * The safety analysis: runs the pending migrations on the rehearsal (a copy of the SQLite file, a
 * rolled-back transaction on PostgreSQL), as the dry run does, and around each one snapshots the
 * schema, counts the rows of the tables it touched and (PostgreSQL) notes the table locks each
 * statement left held; then compares (`analyzeMigration`). The live database is only read.
 * Callers check the migrations first (`MigrationRunner.preflight()`).
 */
@Injectable()
export class SafetyAnalysisService {
  constructor(
    @Inject(MIGRATION_DRIVER) private readonly driver: DatabaseDriver,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly backup: BackupService,
    private readonly applier: MigrationApplier,
  ) {}

  /** The report on these pending migrations; `longLockMs` defaults to the `safety` option's. */
  async analyze(pending: readonly MigrationDefinition[], longLockMs = this.options.safety.longLockMs): Promise<SafetyReport> {
    const { kind, run, findings } = await this.rehearse(pending, longLockMs);
    const failure = run.failure && {
      migration: run.failure.migration,
      code: run.failure.cause instanceof AutoMigrationError ? run.failure.cause.code : 'MIGRATION_FAILED',
      message: describeCause(run.failure.cause),
    };
    return {
      on: kind,
      migrations: run.migrations.map((m) => m.name),
      notRehearsed: run.migrations.filter((m) => !m.rehearsed).map((m) => m.name),
      findings,
      failed: failure,
      blocking: findings.some((f) => f.level === 'error' && !f.accepted),
    };
  }

  /**
   * Runs the pending migrations on the rehearsal, analysing each one. `required: false` (the dry
   * run) runs them without findings where the driver cannot inspect its copies; otherwise that
   * is an error.
   */
  async rehearse(pending: readonly MigrationDefinition[], longLockMs = this.options.safety.longLockMs, { required = true } = {}): Promise<AnalysedRun> {
    const rehearsal = copies(this.driver);
    if (pending.length === 0) return { kind: rehearsal.kind, run: { migrations: [], failure: null }, findings: [] };
    for (const migration of pending) migration.instance();
    const observer = new AnalysisObserver(this.options.postgres ? 'postgres' : 'sqlite', longLockMs, required);
    const run = await runOnCopy(this.applier, rehearsal, pending, this.backup.folder, observer);
    return { kind: rehearsal.kind, run, findings: observer.findings };
  }
}

/** Reads the copy around each migration and analyses it once it ran. */
class AnalysisObserver implements CopyRunObserver {
  readonly findings: Finding[] = [];
  private schemaBefore: SchemaSnapshot | null = null;
  /** The schema after the last migration: nothing runs on the copy between two migrations, so it is the next one's "before". */
  private schemaAfter: SchemaSnapshot | null = null;
  /** The tables before the first pending migration: any other is new to everyone, old releases included. */
  private existing: Set<string> | null = null;
  private locksBefore: RelationLock[] = [];
  /** How the database compares table names (SQLite without case). */
  private readonly same: SameName;
  /** Row counts as of now, carried from migration to migration: only the tables a migration touched are counted again. */
  private rows: Map<string, number> | null = null;

  constructor(
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly longLockMs: number,
    private readonly required: boolean,
  ) {
    this.same = sameName(dialect);
  }

  async before(copy: RehearsalCopy): Promise<void> {
    if (!copy.inspector && !this.required) return;
    const inspector = inspectorOf(copy);
    this.schemaBefore = this.schemaAfter ?? (await inspector.snapshot());
    this.existing ??= new Set(this.schemaBefore.tables.keys());
    this.rows ??= await inspector.countRows([...this.schemaBefore.tables.keys()]);
    this.locksBefore = (await inspector.locksHeld?.()) ?? [];
    copy.watchLocks = true;
  }

  async after(copy: RehearsalCopy, migration: MigrationDefinition, ran: CopyRunMigration, failure: unknown): Promise<void> {
    copy.watchLocks = false;
    if (!copy.inspector && !this.required) return;
    const inspector = inspectorOf(copy);
    const before = this.schemaBefore!;
    const rowsBefore = new Map(this.rows);
    const after = failure === null ? await inspector.snapshot() : null;
    this.schemaAfter = after;
    const rowsAfter = after === null ? rowsBefore : await this.recount(inspector, before, after, ran);
    this.rows = rowsAfter;
    const rehearsed: RehearsedMigration = {
      name: migration.name,
      dialect: this.dialect,
      allow: migration.allow ?? [],
      before,
      after,
      rowsBefore,
      rowsAfter,
      statements: ran.statements,
      locksBefore: this.locksBefore,
      newTables: [...before.tables.keys()].filter((name) => !this.existing!.has(name)),
      durationMs: ran.durationMs,
      violation: failure === null ? null : await countViolation(inspector, failure, ran.statements, new Set(before.tables.keys())),
    };
    this.findings.push(...analyzeMigration(rehearsed, { longLockMs: this.longLockMs }));
    // A table renamed is the old one under a new name: the previous release knows it, so it is not new.
    for (const rename of tableRenames(ran.statements)) {
      const old = [...this.existing!].find((name) => this.same(name, rename.from));
      const renamed = after && [...after.tables.keys()].find((name) => this.same(name, rename.to));
      if (old !== undefined && renamed) this.existing!.add(renamed);
    }
  }

  /** Counts again the tables the migration may have changed: new ones, changed ones, and the ones its statements name. */
  private async recount(inspector: SchemaInspector, before: SchemaSnapshot, after: SchemaSnapshot, ran: CopyRunMigration): Promise<Map<string, number>> {
    const text = ran.statements
      .map((s) => s.sql)
      .join('\n')
      .toLowerCase();
    const changed = [...after.tables.keys()].filter(
      (name) =>
        !this.rows!.has(name) || JSON.stringify(before.tables.get(name)) !== JSON.stringify(after.tables.get(name)) || text.includes(name.toLowerCase()),
    );
    // A delete cascades: the tables whose foreign keys point at a touched one may have lost rows too.
    const touched = [...after.tables.values()]
      .filter((table) => changed.includes(table.name) || table.foreignKeys.some((key) => changed.some((name) => this.same(name, key.references))))
      .map((table) => table.name);
    const counted = await inspector.countRows(touched);
    const rows = new Map<string, number>();
    for (const name of after.tables.keys()) rows.set(name, counted.get(name) ?? this.rows!.get(name) ?? 0);
    return rows;
  }
}

function inspectorOf(copy: RehearsalCopy): SchemaInspector {
  if (!copy.inspector) throw new InvalidOptionsError(['safety: this database cannot be inspected, so no safety analysis can run on it']);
  return copy.inspector;
}

import type { AutoMigrationService, DryRunReport } from '../..';
import { ReportedFailure } from '../cli-error';
import type { AppCommand, CommandOutput } from '../command';
import { ExitCode } from '../exit-codes';
import { formatFinding, summarizeFindings } from '../format-findings';
import { plural } from '../text';
import { exitCodeAfterRun } from './status';

/** Said after every dry run: what a copy of the database cannot contain. */
export const DRY_RUN_SIDE_EFFECTS_NOTE =
  'Side effects of injected services are not rehearsed: whatever a migration does outside the database (mail, HTTP calls, queues, files) it did for real during this dry run.';

/** `up [--to NAME] [--dry-run]`. */
export const upCommand: AppCommand = {
  kind: 'app',
  name: 'up',
  summary: 'Apply pending migrations (all, or up to NAME); --dry-run shows their statements on a copy.',
  synopsis: 'up [--to NAME] [--dry-run]',
  description: [
    'Applies the pending migrations in order, as a start of the app does: under the migration lock,',
    'after a backup, each in its own transaction. Progress is logged on stderr.',
    'Replicas already serving stay healthy (readiness up) while it applies them, and their status shows',
    'the true state (running, then up-to-date) within seconds.',
    '',
    '--dry-run applies them to a temporary copy of the database instead and prints every statement',
    "each one issued, as SQLite ran it, with its time (to the next statement's start); the live file is",
    'not touched (no lock lease, no backup, no history row) and the copy is deleted. Side effects of',
    'injected services are not rehearsed. Under each migration: what the safety analysis found in it,',
    "as `lint` reports it (the dry run's exit code does not depend on them; lint's does).",
  ].join('\n'),
  flags: {
    to: { type: 'string', value: 'NAME', description: 'Stop after this migration (it is applied too).' },
    'dry-run': { type: 'boolean', description: 'Run on a temporary copy and print the statements; change nothing.' },
  },
  positionals: [],
  async run(service, args, output) {
    const to = args.string('to');
    return args.flag('dry-run') ? dryRun(service, to, output) : migrate(service, to, output);
  },
};

async function migrate(service: AutoMigrationService, to: string | undefined, output: CommandOutput): Promise<number> {
  const before = new Set((await service.getStatus()).applied.map((m) => m.name));
  const status = await service.migrate({ to });
  const applied = status.applied.filter((m) => !before.has(m.name));

  if (applied.length === 0) output.line(status.pending.length === 0 ? 'Nothing to apply: the schema is up to date.' : 'Nothing applied.');
  else {
    output.line(`Applied ${plural(applied.length, 'migration')}:`);
    for (const m of applied) output.line(`  ${m.name}  (${m.version}, ${m.executionTimeMs} ms)`);
  }
  if (status.pending.length > 0) output.line(`Still pending: ${status.pending.map((m) => m.name).join(', ')}`);
  return exitCodeAfterRun(status);
}

async function dryRun(service: AutoMigrationService, to: string | undefined, output: CommandOutput): Promise<number> {
  const report = await service.dryRun({ to });
  printDryRun(report, output);
  if (report.failed)
    throw ReportedFailure.of(
      report.failed,
      report.on === 'copy' ? ' (on the dry-run copy; the live database is unchanged)' : ' (in the dry run, rolled back; the live database is unchanged)',
    );
  return ExitCode.Ok;
}

/** Each migration with its time and every statement it issued, then what a dry run leaves out. */
export function printDryRun(report: DryRunReport, output: CommandOutput): void {
  if (report.migrations.length === 0) {
    output.line('Dry run: nothing is pending; nothing ran.');
    return;
  }
  output.line(
    report.on === 'copy'
      ? 'Dry run on a temporary copy of the database; the live file was not touched (no lock lease, no backup, no history row).'
      : 'Dry run in a transaction of the live database that was rolled back: nothing was kept (no lock lease, no backup, no history row).',
  );
  for (const m of report.migrations) {
    const failed = report.failed?.migration === m.name;
    const mode = m.transaction ? '' : ', transaction: false';
    output.line();
    output.line(`${m.name}  (${m.version}${mode}, ${m.durationMs} ms)${failed ? '  FAILED' : ''}`);
    if (m.description) output.line(`  ${m.description}`);
    if (!m.rehearsed) output.line('    (not rehearsed: a transaction: false migration runs outside a transaction, which cannot be rolled back)');
    else if (m.statements.length === 0) output.line('    (no statements)');
    // Each statement behind its time, in a column: a statement spanning lines (a SQL file runs
    // as one) continues under its first line.
    const times = m.statements.map((statement) => `${statement.durationMs} ms`);
    const width = Math.max(0, ...times.map((time) => time.length));
    m.statements.forEach((statement, index) => {
      const sql = statement.sql.trim();
      const [first, ...rest] = (sql.endsWith(';') ? sql : `${sql};`).split(/\r?\n/);
      output.line(`    ${times[index].padStart(width)}  ${first}`);
      for (const line of rest) output.line(line.trim() === '' ? '' : `    ${' '.repeat(width)}  ${line}`);
    });
    if (m.commitMs !== null) output.line(`    ${`${m.commitMs} ms`.padStart(width)}  (foreign-key check and COMMIT)`);
    // Outdented from the statements, so a finding reads as a note on the migration, not as one more statement.
    for (const finding of report.findings.filter((f) => f.migration === m.name)) for (const line of formatFinding(finding, '  ')) output.line(line);
  }
  output.line();
  const skipped = report.migrations.filter((m) => !m.rehearsed).length;
  const ran = report.migrations.length - skipped - (report.failed ? 1 : 0);
  const where = report.on === 'copy' ? 'on the copy' : 'in the rolled-back transaction';
  output.line(
    report.failed
      ? `${plural(ran, 'migration')} ran ${where} before ${report.failed.migration} failed; the live database is unchanged.`
      : `${plural(report.migrations.length, 'migration')} would be applied${skipped > 0 ? ` (${skipped} not rehearsed)` : ''}.`,
  );
  if (report.findings.length > 0)
    output.line(`Safety analysis: ${summarizeFindings(report.findings)} (\`nest-auto-migration lint\` exits 1 on an error not accepted).`);
  output.line(DRY_RUN_SIDE_EFFECTS_NOTE);
}

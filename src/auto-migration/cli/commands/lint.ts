import type { SafetyReport } from '../..';
import type { ParsedArgs } from '../args';
import { ReportedFailure, usageError } from '../cli-error';
import type { AppCommand, CommandOutput } from '../command';
import { ExitCode } from '../exit-codes';
import { formatFinding, summarizeFindings } from '../format-findings';
import { plural, shownValue } from '../text';

/** Said after every analysis, as after a dry run: the rehearsal runs the migrations' code for real. */
const LINT_SIDE_EFFECTS_NOTE =
  'Side effects of injected services are not rehearsed: whatever a migration does outside the database (mail, HTTP calls, queues, files) it did for real during this analysis.';

/** `lint [--json] [--to NAME] [--long-lock-ms N]`. */
export const lintCommand: AppCommand = {
  kind: 'app',
  name: 'lint',
  summary: 'Rehearse the pending migrations and report what they would break (exit 1 on an error not accepted).',
  synopsis: 'lint [--json] [--to NAME] [--long-lock-ms N]',
  description: [
    'Runs the pending migrations (all, or up to NAME) on the rehearsal the dry run uses: a temporary',
    'copy of the SQLite file, or a transaction of the PostgreSQL database that is rolled back. Around',
    'each one it compares the schema and the row counts, and on PostgreSQL the locks its statements',
    'take, and reports each finding: its level, rule, object and migration, the statement, why it hurts',
    'and the safe way to make the change. The database is never changed. Makes the checks a run makes',
    'first (checksums, interrupted attempts, out-of-order migrations).',
    '',
    'A finding is accepted, still shown but never failing, when the migration acknowledges its rule:',
    "allow: ['drop-column'] in @Migration({ ... }), or a \"-- allow: drop-column\" line in a .sql file's",
    'header.',
    '',
    'Exit code 0 when every finding is accepted or a warning (or there is none), 1 when an error-level',
    'finding is not accepted, 2 when the migrations could not be rehearsed (one failed on the rehearsal:',
    'its error is the one line on stderr) or on any other error.',
    'transaction: false migrations cannot run in a rolled-back transaction: on PostgreSQL they are not',
    'analysed (listed as such). Side effects of injected services are not rehearsed.',
  ].join('\n'),
  flags: {
    json: {
      type: 'boolean',
      description: 'Print exactly the report as JSON on stdout: { "findings": [{ "rule", "level", "migration", "object", "accepted", "message", ... }], ... }.',
    },
    to: { type: 'string', value: 'NAME', description: 'Analyse the pending migrations up to and including this one.' },
    'long-lock-ms': {
      type: 'string',
      value: 'N',
      description: "long-exclusive-lock's threshold (PostgreSQL): an ACCESS EXCLUSIVE lock held longer is a finding. Default: the safety option's, 1000.",
    },
  },
  positionals: [],
  check(args) {
    longLockMsOf(args);
  },
  async run(service, args, output) {
    const report = await service.lint({ to: args.string('to'), longLockMs: longLockMsOf(args) });
    if (args.flag('json')) {
      const { findings, ...rest } = report;
      output.line(JSON.stringify({ findings, ...rest }, null, 2));
    } else {
      printReport(report, output);
    }
    // The report is printed whole; a failure to rehearse is also the command's one error line.
    if (report.failed) throw ReportedFailure.of(report.failed, ' (on the rehearsal; the live database is unchanged)');
    return report.blocking ? ExitCode.Unsafe : ExitCode.Ok;
  },
};

/** `--long-lock-ms`, checked before anything boots: a whole number of milliseconds, 0 or more. */
function longLockMsOf(args: ParsedArgs): number | undefined {
  const value = args.string('long-lock-ms');
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usageError(`lint: --long-lock-ms must be a whole number of milliseconds, 0 or more, got ${shownValue(value)}`, 'lint');
  return Number(value);
}

/** Every finding as a block, then the count, what was not analysed, and what a rehearsal leaves out. */
function printReport(report: SafetyReport, output: CommandOutput): void {
  if (report.migrations.length === 0) {
    output.line('Nothing is pending; nothing to analyse.');
    return;
  }
  output.line(
    report.on === 'copy'
      ? 'Safety analysis on a temporary copy of the database; the live file was not touched.'
      : 'Safety analysis in a transaction of the live database that was rolled back: nothing was kept.',
  );
  for (const finding of report.findings) {
    output.line();
    for (const line of formatFinding(finding)) output.line(line);
  }
  output.line();
  output.line(
    report.findings.length === 0 ? `No findings in ${plural(report.migrations.length, 'pending migration')}.` : `${summarizeFindings(report.findings)}.`,
  );
  if (report.failed) output.line(`${report.failed.migration} failed on the rehearsal: the migrations after it were not analysed.`);
  const unaccepted = report.findings.find((f) => f.level === 'error' && !f.accepted);
  if (unaccepted) {
    output.line(
      `Once such a change is meant, accept it in its migration: allow: ['${unaccepted.rule}'] in @Migration({ ... }), ` +
        `or a "-- allow: ${unaccepted.rule}" line in a .sql file's header.`,
    );
  }
  if (report.notRehearsed.length > 0) {
    output.line(
      `Not analysed: ${report.notRehearsed.join(', ')} (transaction: false: ${report.notRehearsed.length === 1 ? 'it runs' : 'they run'} outside a transaction, which cannot be rolled back).`,
    );
  }
  output.line(LINT_SIDE_EFFECTS_NOTE);
}

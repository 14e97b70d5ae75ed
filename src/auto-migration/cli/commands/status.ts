import { relative, resolve } from 'node:path';
import { describeInstance } from '../../instances/instance-name';
import type { MigrationRunState, MigrationStatus } from '../../status/migration-status.interface';
import { DEFAULT_CLASSES_DIR, readProject } from '../cli-config';
import { ReportedFailure } from '../cli-error';
import type { AppCommand, AppContext, CommandOutput } from '../command';
import { ExitCode } from '../exit-codes';
import { oneLine } from '../format-error';
import { command, formatStatus } from '../format-status';
import { plural } from '../text';
import { findUnregisteredMigrations } from '../unregistered-migrations';

/** The contract's exit codes for a status: up to date 0, pending (or running) 1, failed 2. */
export function exitCodeOfState(state: MigrationRunState): ExitCode {
  if (state === 'up-to-date') return ExitCode.Ok;
  if (state === 'failed') return ExitCode.Error;
  return ExitCode.Pending;
}

/**
 * After `up`, which ran migrations: 0, or the run's error. With
 * `failOnError: false` a failed run resolves with state `failed` instead of rejecting; the
 * command fails all the same, with the recorded error as its one line.
 */
export function exitCodeAfterRun(status: MigrationStatus): ExitCode {
  if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError);
  return ExitCode.Ok;
}

/**
 * After `resolve` and `repair`, which apply nothing: the state as `status` would show it, and
 * what to run next. The command did what it was asked, whatever the state: another interrupted
 * migration, say, is reported here and refused by the next `up`.
 */
export function reportStateAfterFix(status: MigrationStatus, output: CommandOutput): void {
  const error = status.lastError;
  output.line(`State: ${status.state}${status.state === 'failed' && error ? ` (${error.code}: ${oneLine(error.message)})` : ''}`);
  if (status.pending.length > 0) {
    output.line(`${plural(status.pending.length, 'migration')} pending: run \`${command(status, 'up')}\` to apply pending migrations.`);
  }
}

/** `status [--json]`. */
export const statusCommand: AppCommand = {
  kind: 'app',
  name: 'status',
  summary: 'Show applied, pending and unknown migrations, the lock holder and the last backup.',
  synopsis: 'status [--json]',
  description: [
    'Shows where the schema stands, as GET /migrations/status does, after the checks a start makes',
    'before applying anything: checksums, interrupted transaction: false migrations, out-of-order',
    'pending ones (a problem shows as state "failed" with the last error). Reads without the lock;',
    'applies nothing.',
    'Exit code 0 when up to date, 1 when migrations are pending or another process is running them, 2',
    'when the state is failed (the error is also one line on stderr) or on any other error.',
    'In an app with several databases, without --database: every instance in import order, each under',
    'a "== name ==" line (--json: { "databases": { "<name>": <its status>, ... } }), and the exit code of',
    'the worst of them.',
    'Also warns, on stderr, about each file in the classes folder ("nestAutoMigration.classesDir" in',
    'package.json, else migrations) that declares a @Migration() class no module registers.',
  ].join('\n'),
  flags: {
    json: { type: 'boolean', description: 'Print exactly the status JSON on stdout (logs stay on stderr).' },
  },
  positionals: [],
  async run(service, args, output, context) {
    const status = await service.check();
    warnUnregistered(context, output);
    output.line(args.flag('json') ? JSON.stringify(status, null, 2) : formatStatus(status));
    // The answer is printed whole; a failed state is also the one error line of a failed command.
    if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError);
    return exitCodeOfState(status.state);
  },
  async runOnEvery(args, output, context) {
    const statuses: [string, MigrationStatus][] = [];
    for (const instance of context.instances) statuses.push([instance.name, await instance.service.check()]);
    warnUnregistered(context, output);
    if (args.flag('json')) output.line(JSON.stringify({ databases: Object.fromEntries(statuses) }, null, 2));
    else output.line(statuses.map(([name, status]) => `== ${name} ==\n${formatStatus(status)}`).join('\n\n'));
    // As for one instance: the first failed one's error is the command's one error line.
    for (const [name, status] of statuses) {
      if (status.state === 'failed' && status.lastError) throw ReportedFailure.of(status.lastError, ` (${describeInstance(name)})`);
    }
    return Math.max(...statuses.map(([, status]) => exitCodeOfState(status.state)));
  },
};

/**
 * One warning per file of the classes folder that declares `@Migration()` classes the module does
 * not register: they never run, and nothing else would say so. A class counts as registered when
 * the instance it names (`database`, the default one without it) discovered it, whichever
 * instance the command works on. A warning only: the exit code is the state's, and stdout stays
 * the answer alone (`--json` is pure JSON).
 */
function warnUnregistered(context: AppContext, output: CommandOutput): void {
  let classesDir: string;
  try {
    classesDir = readProject(context.cwd).config.classesDir ?? DEFAULT_CLASSES_DIR;
  } catch {
    // A malformed package.json is the business of the commands that need it (the module came from --module).
    return;
  }
  const registered = new Map(context.instances.map((instance) => [instance.name, instance.migrationNames]));
  for (const { file, migrations } of findUnregisteredMigrations(resolve(context.cwd, classesDir), registered)) {
    const classes = migrations.map((m) => m.className ?? `the class named "${m.name}"`);
    const declared = migrations.map((m) => `"${m.name}"${m.className ? ` (class ${m.className})` : ''}`);
    const one = migrations.length === 1;
    output.warn(
      'UNREGISTERED_MIGRATION',
      `${relative(context.cwd, file)} declares @Migration ${declared.join(' and ')}, which no module registers, so ${one ? 'it never runs' : 'they never run'}: ` +
        `add ${classes.join(' and ')} to the providers of a module of your app (e.g. your MigrationsModule), or delete the file`,
    );
  }
}

import { flagsOf } from './args';
import type { CliCommand } from './command';

const BIN = 'nest-auto-migration';

/** `nest-auto-migration --help`: every command with its one-line summary. */
export function overviewHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Usage: ${BIN} <command> [flags]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'The commands other than create boot your app module as a Nest application context, without',
    'the automatic run at bootstrap: --module FILE[#Export], or "nestAutoMigration": { "module": ... }',
    'in package.json; create only reads which migrations it registers. Every command accepts',
    '--module, --database (the instance to work on, in an app with several databases), --verbose and',
    '--help.',
    '',
    'Exit codes: 0 success (status: up to date), 1 status: migrations pending; lint: an error-level',
    'finding not accepted, 2 any error (status: a failed state; lint: a failed rehearsal), 130',
    'interrupted by Ctrl-C.',
    `Run \`${BIN} <command> --help\` (or \`${BIN} help <command>\`) for a command's flags; \`${BIN} --version\` prints this package's version.`,
  ].join('\n');
}

/** `nest-auto-migration <command> --help`. */
export function commandHelp(command: CliCommand): string {
  const flags = Object.entries(flagsOf(command)).map(([name, flag]) => {
    const short = flag.short ? `-${flag.short}, ` : '';
    return [`${short}--${name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}`, flag.description] as const;
  });
  const width = Math.max(...flags.map(([label]) => label.length));
  return [
    `Usage: ${BIN} ${command.synopsis}`,
    '',
    command.description,
    '',
    'Flags:',
    ...flags.map(([label, description]) => `  ${label.padEnd(width)}  ${description}`),
  ].join('\n');
}

import { parseArgs } from 'node:util';
import { usageError } from './cli-error';
import type { CliCommand, CommandFlag } from './command';

/**
 * Flags every command accepts, `create` included, so that a script which always passes
 * `--module` (or `--database`) works for every command.
 */
export const COMMON_FLAGS: Readonly<Record<string, CommandFlag>> = {
  module: {
    type: 'string',
    value: 'FILE[#Export]',
    description:
      'Compiled module file of the app, relative to the working directory; the export defaults to AppModule. Default: "nestAutoMigration.module" in package.json. ' +
      'create only reads which migrations it registers, without starting it.',
  },
  database: {
    type: 'string',
    value: 'NAME',
    description:
      'The instance to work on, in an app with several databases: the name given to AutoMigrationModule.forRoot({ name }). ' +
      'Default: the default instance (the import without a name); status without it shows every instance.',
  },
  help: { type: 'boolean', short: 'h', description: 'Show this help.' },
  verbose: { type: 'boolean', description: "Also print Nest's start-up lines, debug logs and stack traces." },
};

/** The flags a command accepts: its own and the common ones. */
export function flagsOf(command: CliCommand): Record<string, CommandFlag> {
  return { ...command.flags, ...COMMON_FLAGS };
}

/** A command line as parsed for one command. */
export class ParsedArgs {
  constructor(
    private readonly values: Readonly<Record<string, string | boolean | undefined>>,
    /** The positional arguments, in order. */
    readonly positionals: readonly string[],
  ) {}

  /** The value of a string flag, or undefined when it was not given. */
  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** Whether a boolean flag was given. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }
}

/**
 * Parses the arguments after the command name, strictly: an unknown flag, a missing value or an
 * extra positional is a `USAGE` error naming it, never silently ignored (a mistyped `--dry-run`
 * must not run the migrations for real). The positional count is checked by `checkPositionals`
 * after `--help` had its chance. An empty value (`--to=`) is refused too.
 */
export function parseCommandArgs(command: CliCommand, argv: readonly string[]): ParsedArgs {
  const flags = flagsOf(command);
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, flag]) => [name, flag.short ? { type: flag.type, short: flag.short } : { type: flag.type }]),
  );
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinNegativeValues(flags, argv), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(describeParseError(error, command), command.name);
  }
  // `--to=` or `--to ""` (an unset shell variable): never a name, a number or a path.
  const empty = Object.keys(flags).find((name) => parsed.values[name] === '');
  if (empty !== undefined) throw usageError(`${command.name}: --${empty} needs a value, got an empty one`, command.name);
  return new ParsedArgs(parsed.values, parsed.positionals);
}

/**
 * `--steps -1` as `--steps=-1`: `parseArgs` takes a value that starts with a dash for a flag, and
 * would report a missing value, where the command can say what is wrong with the number. Only a
 * dash followed by a digit, after a flag that takes a value: `--to --dry-run` still lacks its value.
 */
function joinNegativeValues(flags: Readonly<Record<string, CommandFlag>>, argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...args, ...argv.slice(i)];
    const flag = /^--([^=]+)$/.exec(arg)?.[1];
    const next = argv[i + 1];
    if (flag !== undefined && flags[flag]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** Refuses a missing or an extra positional argument. */
export function checkPositionals(command: CliCommand, args: ParsedArgs): void {
  const expected = command.positionals;
  if (args.positionals.length < expected.length) {
    throw usageError(`${command.name}: missing ${expected.slice(args.positionals.length).join(' ')}`, command.name);
  }
  if (args.positionals.length > expected.length) {
    throw usageError(`${command.name}: unexpected argument "${args.positionals[expected.length]}"`, command.name);
  }
}

/** `parseArgs` messages are long and mention its own syntax; say what was wrong in our words. */
function describeParseError(error: unknown, command: CliCommand): string {
  const code = (error as { code?: unknown }).code;
  const message = String((error as { message?: unknown }).message ?? error);
  const option = /'(-[^'\s]*)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${command.name}: unknown flag ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // A boolean flag given a value (`--json=yes`), or a string flag without one (`--to` last,
      // or followed by another flag).
      return message.includes('does not take an argument')
        ? `${command.name}: ${option ?? 'a flag'} takes no value`
        : `${command.name}: ${option ?? 'a flag'} needs a value`;
    default:
      return `${command.name}: ${message}`;
  }
}

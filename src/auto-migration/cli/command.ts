import type { AutoMigrationService } from '../auto-migration.service';
import type { ParsedArgs } from './args';

/** A flag a command accepts, as `node:util` `parseArgs` declares it, plus its help text. */
export interface CommandFlag {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in help for a string flag: `--to NAME`. */
  readonly value?: string;
  readonly description: string;
}

/** Where a command writes: its answer on stdout, warnings on stderr (stdout stays the answer alone). */
export interface CommandOutput {
  /** Writes `text` and a line break to stdout. */
  line(text?: string): void;
  /** Writes `warning CODE: text` and a line break to stderr. */
  warn(code: string, text: string): void;
}

interface CommandBase {
  readonly name: string;
  /** One line for the command overview. */
  readonly summary: string;
  /** Positionals and flags, as in `restore FILE --force`. */
  readonly synopsis: string;
  /** Paragraph(s) printed by `<command> --help` under the synopsis. */
  readonly description: string;
  readonly flags: Readonly<Record<string, CommandFlag>>;
  /** Names of the positional arguments; each is required. */
  readonly positionals: readonly string[];
  /**
   * Refuses flag combinations and values (a `USAGE` error) before anything is booted, so that a
   * typo costs no application start and never half-runs a command.
   */
  check?(args: ParsedArgs): void;
}

/** One `AutoMigrationModule` import of the booted module: an instance, with its own service and migrations. */
export interface AppInstance {
  /** Its name: `'default'` for the import without one. */
  readonly name: string;
  readonly service: AutoMigrationService;
  /** Names of the migrations it discovered: the `@Migration()` providers assigned to it and its `.sql` files. */
  readonly migrationNames: readonly string[];
}

/** What an app command knows besides the service: where it runs, and what the module imports. */
export interface AppContext {
  /** The working directory of the command line, where package.json is read. */
  readonly cwd: string;
  /** Every instance the booted module imports, in import order, the one worked on included. */
  readonly instances: readonly AppInstance[];
}

/** A command that boots the user's module and works through `AutoMigrationService`. */
export interface AppCommand extends CommandBase {
  readonly kind: 'app';
  /** Works on one instance: the one `--database` names, else the default one. */
  run(service: AutoMigrationService, args: ParsedArgs, output: CommandOutput, context: AppContext): Promise<number>;
  /**
   * Works on every instance, when `--database` is not given and the module imports more than the
   * default instance (`status` lists them all). Without it, such a command works on the default one.
   */
  runOnEvery?(args: ParsedArgs, output: CommandOutput, context: AppContext): Promise<number>;
}

/**
 * A command that works on files (`create`): no Nest application is started and no database
 * opened (it may read the module's registrations without instantiating anything).
 */
export interface LocalCommand extends CommandBase {
  readonly kind: 'local';
  run(args: ParsedArgs, output: CommandOutput, cwd: string): Promise<number>;
}

export type CliCommand = AppCommand | LocalCommand;

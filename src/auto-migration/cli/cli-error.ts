/**
 * A failure of the command line itself (not of the library): bad flags, a module that cannot be
 * loaded, a scaffold that would overwrite a file. Reported as one line, `error CODE: message`,
 * with exit code 2, like the library's own errors.
 */
export class CliError extends Error {
  constructor(
    /** Stable identifier, printed before the message: `USAGE`, `MODULE_NOT_LOADABLE`, ... */
    readonly code: CliErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
  }
}

/**
 * - `USAGE`: unknown command or flag, a missing or invalid value, no module to boot.
 * - `CONFIG_INVALID`: the `nestAutoMigration` field of package.json (or package.json itself) is malformed.
 * - `MODULE_NOT_LOADABLE`: the module file is missing, throws while loading, lacks the export, the export is not
 *   a class, or the file starts an application when loaded (the app's main.js).
 * - `BOOT_FAILED`: Nest could not create the application context (a provider threw, a dependency is
 *   missing), or a lifecycle hook awaits something that never happens under the command line.
 * - `NOT_WIRED`: the booted module does not import `AutoMigrationModule` (or imports another copy of the package).
 * - `UNKNOWN_DATABASE`: `--database` names an instance the module does not import (or, without it, the module imports
 *   no default instance); the message lists the ones it imports.
 * - `CREATE_REFUSED`: `create` would overwrite a file or repeat a migration's name, or cannot number the new migration.
 * - `COMMAND_STALLED`: the command (or the context's shutdown) awaits a promise that can never settle.
 */
export type CliErrorCode =
  'USAGE' | 'CONFIG_INVALID' | 'MODULE_NOT_LOADABLE' | 'BOOT_FAILED' | 'NOT_WIRED' | 'UNKNOWN_DATABASE' | 'CREATE_REFUSED' | 'COMMAND_STALLED';

/** A `USAGE` error whose message ends with where to read the usage. */
export function usageError(message: string, command?: string): CliError {
  const help = command ? `nest-auto-migration ${command} --help` : 'nest-auto-migration --help';
  return new CliError('USAGE', `${message}. Run \`${help}\` for usage.`);
}

/**
 * A failure the library reported as data rather than threw: the `lastError` of a run that ended
 * in state `failed` (with `failOnError: false`), or the failure of a dry run. Printed like a
 * thrown error, with the library's code.
 */
export class ReportedFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ReportedFailure';
  }

  /** From a status `lastError` or a dry run's `failed`: the message names the migration. */
  static of(failure: { code: string; migration: string | null; message: string }, suffix = ''): ReportedFailure {
    const { code, migration, message } = failure;
    return new ReportedFailure(code, `${migration && !message.includes(migration) ? `${migration}: ` : ''}${message}${suffix}`);
  }
}

import { DEFAULT_INSTANCE, describeInstance, instanceNameOf, isDefaultInstance } from '../instances/instance-name';
import type { ParsedArgs } from './args';
import { CliError, usageError } from './cli-error';

/**
 * The instance `--database` names, checked for its shape only (a `USAGE` error before anything is
 * loaded: a value that cannot be a name costs no boot); undefined when the flag is not given.
 * Whether the module imports it is known once it is read (`chooseInstance`).
 */
export function requestedInstance(args: ParsedArgs, command: string): string | undefined {
  const value = args.string('database');
  if (value === undefined) return undefined;
  try {
    return instanceNameOf(value);
  } catch {
    throw usageError(
      `${command}: --database ${JSON.stringify(value)} cannot be an instance name (the name given to AutoMigrationModule.forRoot({ name })): ` +
        'a letter followed by letters, digits, "_" or "-"',
      command,
    );
  }
}

/**
 * The instance of `imported` named `requested` (the default instance when undefined). A name the
 * module does not import is an `UNKNOWN_DATABASE` error naming it and the imported ones, raised
 * before the command does anything.
 */
export function chooseInstance<T extends { readonly name: string }>(imported: readonly T[], requested: string | undefined, module: string): T {
  const name = requested ?? DEFAULT_INSTANCE;
  const found = imported.find((instance) => instance.name === name);
  if (found) return found;
  const names = imported.map((instance) => instance.name);
  const what = isDefaultInstance(name) ? 'the default instance (an AutoMigrationModule.forRoot() without a name)' : `an instance named "${name}"`;
  const pass = names.length === 1 ? `pass --database ${names[0]}` : `pass --database with one of ${names.join(', ')}`;
  throw new CliError(
    'UNKNOWN_DATABASE',
    `${requested === undefined ? '' : `--database ${name}: `}${module} does not import ${what}; it imports ${listInstances(names)}: ${pass}`,
  );
}

/** Whether the module imports the default instance alone: the commands then work as in an app with one database. */
export function onlyDefaultInstance(imported: readonly { readonly name: string }[]): boolean {
  return imported.length === 1 && isDefaultInstance(imported[0].name);
}

function listInstances(names: readonly string[]): string {
  const described = names.map(describeInstance);
  return described.length <= 1 ? described.join('') : `${described.slice(0, -1).join(', ')} and ${described[described.length - 1]}`;
}

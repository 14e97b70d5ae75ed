#!/usr/bin/env node
/**
 * `nest-auto-migration <command> [flags]`: the package's command line. Parses the command line,
 * boots the app's module when the command needs it, runs the command, and turns the outcome into
 * the contract's exit code: 0 success, 1 `status` found pending migrations (`lint`: an error-level
 * finding not accepted), 2 any error, reported as one line on stderr.
 */
// Nest's decorators need the Reflect API before the app's module file is evaluated.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPositionals, parseCommandArgs } from './args';
import { CONFIG_FIELD, readProject } from './cli-config';
import { CliError, usageError } from './cli-error';
import type { CliCommand, CommandOutput } from './command';
import { COMMANDS } from './commands';
import { ExitCode } from './exit-codes';
import { formatError, oneLine } from './format-error';
import { commandHelp, overviewHelp } from './help';
import { chooseInstance, onlyDefaultInstance, requestedInstance } from './instance-choice';
import { parseModuleSpec, type ModuleTarget } from './load-module';
import { currentPhase } from './progress';
import { divertStdout, writeAnswer } from './stdout-guard';

const stdout: CommandOutput = {
  line: (text = '') => writeAnswer(`${text}\n`),
  warn: (code, text) => process.stderr.write(`warning ${code}: ${oneLine(text)}\n`),
};

/** Runs one command line (without `node` and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const [name, ...rest] = argv;
    if (name === undefined) throw usageError('no command given');
    if (name === '--help' || name === '-h' || name === 'help') {
      // `help up` (and `--help up`) is `up --help`.
      const [topic, extra] = rest;
      if (topic === undefined) {
        stdout.line(overviewHelp(COMMANDS));
        return ExitCode.Ok;
      }
      const command = COMMANDS.find((c) => c.name === topic);
      if (!command) throw usageError(`help: unknown command "${topic}"`);
      if (extra !== undefined) throw usageError(`help: unexpected argument "${extra}"`);
      stdout.line(commandHelp(command));
      return ExitCode.Ok;
    }
    if (name === '--version') {
      stdout.line(ownVersion());
      return ExitCode.Ok;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw usageError(name.startsWith('-') ? `expected a command before ${name}` : `unknown command "${name}"`);

    const args = parseCommandArgs(command, rest);
    if (args.flag('help')) {
      stdout.line(commandHelp(command));
      return ExitCode.Ok;
    }
    checkPositionals(command, args);
    const database = requestedInstance(args, command.name);
    command.check?.(args);

    if (command.kind === 'local') return await command.run(args, stdout, cwd);
    const target = moduleTarget(command, args.string('module'), cwd);
    // Loaded only now: Nest and the library take a while to load, and usage errors, --help and
    // `create` do not need them.
    const [{ withAppInstances }, { StderrLogger }] = await Promise.all([import('./app-context'), import('./stderr-logger')]);
    // From loading the module file on, whatever the app's code prints on stdout (console.log in
    // a provider or a migration) goes to stderr: stdout is the command's answer alone.
    const restoreStdout = divertStdout();
    try {
      return await withAppInstances(target, new StderrLogger(verbose), (instances) => {
        const context = { cwd, instances };
        if (database === undefined && command.runOnEvery && !onlyDefaultInstance(instances)) return command.runOnEvery(args, stdout, context);
        return command.run(chooseInstance(instances, database, target.label).service, args, stdout, context);
      });
    } finally {
      restoreStdout();
    }
  } catch (error) {
    process.stderr.write(`${formatError(error, verbose)}\n`);
    return ExitCode.Error;
  }
}

/** `--module`, else the `nestAutoMigration.module` field of ./package.json. */
function moduleTarget(command: CliCommand, flag: string | undefined, cwd: string): ModuleTarget {
  if (flag !== undefined) return parseModuleSpec(flag, cwd, '--module');
  const configured = readProject(cwd).config.module;
  if (configured !== undefined) return parseModuleSpec(configured, cwd, `package.json "${CONFIG_FIELD}.module"`);
  throw usageError(
    `${command.name}: no module to boot: pass --module <compiled file>[#Export], or set "${CONFIG_FIELD}": { "module": "dist/app.module.js#AppModule" } in package.json`,
    command.name,
  );
}

/** This package's version, from its package.json two or three folders up (dist/cli or src/auto-migration/cli). */
function ownVersion(): string {
  for (const up of [
    ['..', '..'],
    ['..', '..', '..'],
  ]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, ...up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nestjs-auto-migration' && pkg.version) return pkg.version;
    } catch {
      // Not there: try the next candidate.
    }
  }
  return 'unknown';
}

/**
 * Exits once stdout and stderr are flushed (pipes may be asynchronous), and does exit: an app
 * module may leave timers or sockets open that would otherwise keep the process alive.
 */
async function exit(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((done) => stream.write('', () => done()))));
  process.exit(code);
}

/**
 * The error of a command that stopped with nothing left to wait for, by how far it got. Node
 * would otherwise exit with code 0 and no output: typically an `onApplicationBootstrap` that
 * awaits something only the app's own start brings about (its HTTP server listening, a message
 * main.ts sends), or a migration whose promise never settles.
 */
export function stalledError(): CliError {
  const { phase, target } = currentPhase();
  const module = target ?? 'the module';
  switch (phase) {
    case 'parsing':
    case 'loading':
      return new CliError(
        'MODULE_NOT_LOADABLE',
        `loading ${module} never finished: the file awaits (at top level) something that cannot happen under the command line`,
      );
    case 'booting':
      return new CliError(
        'BOOT_FAILED',
        `booting ${module} never finished: a lifecycle hook (onModuleInit, onApplicationBootstrap) awaits something that cannot ` +
          'happen under the command line, which boots the module as an application context and never listens or runs main.ts ' +
          '(a request to the app itself, a promise main.ts settles); boot a slim module with just the database and the migrations',
      );
    case 'running':
      return new CliError(
        'COMMAND_STALLED',
        'the command stopped with nothing left to wait for: a promise it awaits (in a migration, or a service it calls) can never settle',
      );
    case 'closing':
      return new CliError(
        'COMMAND_STALLED',
        `closing ${module} never finished: a shutdown hook (onModuleDestroy, beforeApplicationShutdown, onApplicationShutdown) awaits something that cannot happen`,
      );
  }
}

if (require.main === module) {
  let settled = false;
  // A command whose promise can never settle would otherwise end with exit code 0 and no output,
  // which a deployment job reads as success.
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write(`${formatError(stalledError(), false)}\n`);
    process.exitCode = ExitCode.Error;
    void exit(ExitCode.Error);
  });
  void runCli(process.argv.slice(2)).then((code) => {
    settled = true;
    return exit(code);
  });
}

import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { oneLine } from './format-error';

/**
 * Nest's own start-up chatter ("Starting Nest application...", "X dependencies initialized"),
 * and its exception handler's report of a failed boot, which the command line repeats as its
 * one-line error. Shown with `--verbose`.
 */
const QUIET_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'NestApplicationContext', 'ExceptionHandler']);

const DEFAULT_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log'];
const VERBOSE_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * The logger of the application context the command line boots: Nest's console format, every
 * level on stderr, so that stdout carries only the command's answer (`status --json` is pure
 * JSON). Each entry on one line, stack traces only with `--verbose`.
 */
export class StderrLogger extends ConsoleLogger {
  constructor(private readonly showEverything: boolean) {
    super({
      prefix: 'nest-auto-migration',
      logLevels: showEverything ? VERBOSE_LEVELS : DEFAULT_LEVELS,
      // Colour codes are noise in a file or a CI log; Nest would colour whatever the stream is.
      colors: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
    });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    if (this.showEverything) return super.printMessages(messages, context, logLevel, 'stderr', errorStack);
    if (context !== undefined && QUIET_CONTEXTS.has(context)) return;
    // One line per entry, so that a deployment log stays greppable (messages listing problems span lines).
    const flat = messages.map((m) => (typeof m === 'string' ? oneLine(m) : m));
    super.printMessages(flat, context, logLevel, 'stderr', errorStack);
  }

  protected override printStackTrace(stack: string): void {
    if (this.showEverything) super.printStackTrace(stack);
  }
}

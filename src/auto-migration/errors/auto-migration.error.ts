import type { AutoMigrationErrorCode } from './error-codes';

/**
 * Base class of every error this module throws. `code` is stable across releases, so
 * callers and alerting can match on it instead of on the message.
 */
export abstract class AutoMigrationError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  abstract readonly code: AutoMigrationErrorCode;
  /** Name of the migration involved, when there is one. */
  readonly migration?: string;

  protected constructor(message: string, options: { migration?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.migration = options.migration;
  }
}

/**
 * Message of an unknown thrown value, for embedding in our own messages. Duck-typed: errors
 * from a database client's native layer may come from another realm (Jest, worker contexts),
 * where `instanceof Error` is false.
 */
export function describeCause(cause: unknown): string {
  const message = (cause as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  if (typeof cause === 'object' && cause !== null) {
    try {
      return `a thrown ${cause.constructor?.name ?? 'object'} ${JSON.stringify(cause)}`;
    } catch {
      // Circular or otherwise unserialisable: fall through to its string form.
    }
  }
  return String(cause);
}

/** Stack of an unknown thrown value, for the log (never for the status document). */
export function stackOf(cause: unknown): string | undefined {
  const stack = (cause as { stack?: unknown } | null)?.stack;
  return typeof stack === 'string' ? stack : undefined;
}

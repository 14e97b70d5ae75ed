import { InvalidOptionsError } from '../errors/invalid-options.error';

/** The name of the instance imported without `name` (`forRoot({ ... })`); `name: 'default'` is the same instance. */
export const DEFAULT_INSTANCE = 'default';

/** Names appear in URLs, flags, log contexts and injection tokens: plain words only. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/**
 * The instance name given to `forRoot()` / `forRootAsync()`, checked; `undefined` is the default
 * instance. Throws `InvalidOptionsError` naming the value.
 */
export function instanceNameOf(name: unknown): string {
  if (name === undefined) return DEFAULT_INSTANCE;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InvalidOptionsError([
      `name: ${describeValue(name)} is not an instance name: use a letter followed by letters, digits, "_" or "-" (at most 63 characters), e.g. "analytics"`,
    ]);
  }
  return name;
}

export function isDefaultInstance(name: string): boolean {
  return name === DEFAULT_INSTANCE;
}

/** How messages name an instance: `instance "analytics"`, or `the default instance`. */
export function describeInstance(name: string): string {
  return isDefaultInstance(name) ? 'the default instance' : `instance "${name}"`;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

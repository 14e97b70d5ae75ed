import { CliError } from '../cli-error';

/** Width of a `yyyymmddhhmmss` prefix: a folder whose migrations use it is numbered by UTC time. */
const TIMESTAMP_WIDTH = 14;
/** The width an empty folder starts with: `001_...`. */
const DEFAULT_WIDTH = 3;

/** A migration's prefix, as the library reads names: digits, then `_`, `-` or `.`. */
const PREFIX = /^(\d+)[_.-]/;
/** Migration files: classes (source or compiled) and SQL files; not declarations or down files. */
const MIGRATION_FILE = /\.(ts|mts|cts|js|mjs|cjs|sql)$/;
const NOT_A_MIGRATION = /\.d\.[mc]?ts$|\.down\.sql$/;

/**
 * The prefix of the next migration in a folder holding `fileNames`: the next number at the width
 * the folder already uses (`003` after `002_x`; `001` in an empty folder), or the current UTC time
 * as `yyyymmddhhmmss` when the folder uses timestamp prefixes (one second after the newest if the
 * clock is behind it, so that the new migration still sorts last).
 *
 * Refuses (`CREATE_REFUSED`) a folder that mixes prefix widths, which the library refuses too
 * because they sort wrongly, and a number that no longer fits the width (`999`).
 */
export function nextPrefix(fileNames: readonly string[], now: Date): string {
  const prefixes = fileNames
    .filter((f) => MIGRATION_FILE.test(f) && !NOT_A_MIGRATION.test(f))
    .map((f) => PREFIX.exec(f)?.[1])
    .filter((p): p is string => p !== undefined);
  if (prefixes.length === 0) return '1'.padStart(DEFAULT_WIDTH, '0');

  const widths = [...new Set(prefixes.map((p) => p.length))].sort((a, b) => a - b);
  if (widths.length > 1) {
    const examples = widths.map((w) => fileNames.find((f) => PREFIX.exec(f)?.[1].length === w)).join(', ');
    throw new CliError('CREATE_REFUSED', `the folder mixes prefix widths (${examples}), which sort wrongly; rename the migrations to one width first`);
  }
  const newest = prefixes.reduce((a, b) => (a > b ? a : b));
  if (widths[0] === TIMESTAMP_WIDTH) return nextTimestamp(newest, now);

  const next = String(Number(newest) + 1);
  if (next.length > widths[0]) {
    throw new CliError('CREATE_REFUSED', `the folder's ${widths[0]}-digit numbering is used up (newest ${newest}); a wider number would sort before the others`);
  }
  return next.padStart(widths[0], '0');
}

function nextTimestamp(newest: string, now: Date): string {
  const current = timestamp(now);
  if (current > newest) return current;
  const parsed = parseTimestamp(newest);
  return parsed ? timestamp(new Date(parsed.getTime() + 1000)) : String(BigInt(newest) + 1n);
}

/** `yyyymmddhhmmss` in UTC. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, TIMESTAMP_WIDTH);
}

function parseTimestamp(text: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return timestamp(date) === text ? date : null;
}

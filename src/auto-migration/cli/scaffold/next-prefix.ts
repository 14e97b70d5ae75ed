import { CliError } from '../cli-error';

/** Width of a `yyyymmddhhmmss` prefix: a folder whose migrations use it is numbered by UTC time. */
const TIMESTAMP_WIDTH = 14;
/** The width an empty folder starts with: `001_...`. */
const DEFAULT_WIDTH = 3;

/** A migration's prefix, as the library reads names: digits, then `_`, `-`, `.` or the end. */
const PREFIX = /^(\d+)(?:[_.-]|$)/;
/** Migration files: classes (source or compiled) and SQL files; not declarations or down files. */
const MIGRATION_FILE = /\.(ts|mts|cts|js|mjs|cjs|sql)$/;
const NOT_A_MIGRATION = /\.d\.[mc]?ts$|\.down\.sql$/;

/** A migration the new one must be numbered after. */
export interface KnownMigration {
  /** Its file name (`005_order_audit.sql`), or its name when only the module knows it (`005_order_audit`). */
  readonly name: string;
  /** Where it is, for messages: a folder, or the module. */
  readonly where: string;
  /** Its absolute path, when it is a file. */
  readonly path?: string;
}

/** Whether a file in a migrations folder is a migration: a class or an SQL file, not a declaration or a `.down.sql`. */
export function isMigrationFile(fileName: string): boolean {
  return MIGRATION_FILE.test(fileName) && !NOT_A_MIGRATION.test(fileName);
}

/**
 * The prefix of the next migration after all of `known` (the files of every migrations folder and
 * the migrations the module registers, so that the new one sorts after each of them): the next
 * number at the width they use (`003` after `002_x`; `001` when there is none), or the current
 * UTC time as `yyyymmddhhmmss` when they use timestamp prefixes (one second after the newest if
 * the clock is behind it, so that the new migration still sorts last).
 *
 * Refuses (`CREATE_REFUSED`) migrations that mix prefix widths, which the library refuses too
 * because they sort wrongly, and a number that no longer fits the width (`999`).
 */
export function nextPrefix(known: readonly KnownMigration[], now: Date): string {
  const prefixed = known.flatMap((migration) => {
    const prefix = PREFIX.exec(migration.name)?.[1];
    return prefix === undefined ? [] : [{ ...migration, prefix }];
  });
  if (prefixed.length === 0) return '1'.padStart(DEFAULT_WIDTH, '0');

  const widths = [...new Set(prefixed.map((m) => m.prefix.length))].sort((a, b) => a - b);
  if (widths.length > 1) {
    const examples = widths.map((w) => prefixed.find((m) => m.prefix.length === w)!);
    const oneFolder = examples.every((m) => m.where === examples[0].where);
    throw new CliError(
      'CREATE_REFUSED',
      oneFolder
        ? `the folder mixes prefix widths (${examples.map((m) => m.name).join(', ')}), which sort wrongly; rename the migrations to one width first`
        : `the migrations mix prefix widths (${examples.map((m) => `${m.name} in ${m.where}`).join(', ')}), which sort wrongly; rename the migrations to one width first`,
    );
  }
  const newest = prefixed.map((m) => m.prefix).reduce((a, b) => (a > b ? a : b));
  if (widths[0] === TIMESTAMP_WIDTH) return nextTimestamp(newest, now);

  const next = String(Number(newest) + 1);
  if (next.length > widths[0]) {
    throw new CliError(
      'CREATE_REFUSED',
      `the migrations' ${widths[0]}-digit numbering is used up (newest ${newest}); a wider number would sort before the others`,
    );
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

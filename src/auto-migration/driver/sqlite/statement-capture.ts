import { performance } from 'node:perf_hooks';
import type { Database, Statement } from 'better-sqlite3';
import type { CapturedStatement } from '../capabilities';

/**
 * Collects the statements a connection runs, through better-sqlite3's `verbose` hook (which gets
 * SQLite's expanded SQL: parameters replaced by their values). better-sqlite3 binds every
 * JavaScript number as a REAL, which SQLite spells `1.0`; an integer column stores it as `1`, and
 * the migration's author wrote `1`. So a bound number that is a whole number is shown as one.
 * Only bound values are touched: the statement's own text, literals included, stays as written.
 *
 * Give `verbose` to the connection's constructor, then `watch()` the connection; statements are
 * collected while `into` is set.
 */
export class StatementCapture {
  /** Where statements go; nothing is collected while it is null. */
  into: CapturedStatement[] | null = null;
  /** The text between the parameters of the prepared statement now running, if it has any. */
  private running: readonly string[] | null = null;

  readonly verbose = (sql: unknown): void => {
    const text = String(sql);
    this.into?.push({ sql: this.running ? (showWholeNumbers(text, this.running) ?? text) : text, at: performance.now() });
  };

  /**
   * Notes which prepared statement runs, so that its expanded text can be told apart from its
   * bound values. Wraps `prepare()` of this connection only (a throwaway copy's).
   */
  watch(db: Database): void {
    const prepare = db.prepare.bind(db);
    db.prepare = ((source: string) => {
      const statement = prepare(source);
      const pieces = splitAtParameters(statement.source);
      if (pieces.length > 1) this.track(statement, pieces);
      return statement;
    }) as Database['prepare'];
  }

  private track(statement: Statement, pieces: readonly string[]): void {
    const during = <T>(call: () => T): T => {
      this.running = pieces;
      try {
        return call();
      } finally {
        this.running = null;
      }
    };
    const run = statement.run.bind(statement);
    const get = statement.get.bind(statement);
    const all = statement.all.bind(statement);
    const iterate = statement.iterate.bind(statement);
    statement.run = (...args: unknown[]) => during(() => run(...(args as never[])));
    statement.get = (...args: unknown[]) => during(() => get(...(args as never[])));
    statement.all = (...args: unknown[]) => during(() => all(...(args as never[])));
    // An iterator's statement starts (and is reported) at its first next().
    statement.iterate = (...args: unknown[]) => {
      const rows = iterate(...(args as never[]));
      const next = rows.next.bind(rows);
      rows.next = (() => during(next)) as typeof rows.next;
      return rows;
    };
  }
}

/** The SQL text around its parameters (`?`, `?NNN`, `:name`, `@name`, `$name`); one piece if it has none. */
export function splitAtParameters(sql: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const at = sql.indexOf(end, from);
    return at < 0 ? sql.length : at + end.length;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') i = skipQuoted(sql, i, c);
    else if (c === '[') i = skipTo(']', i + 1);
    else if (c === '-' && sql[i + 1] === '-') i = skipTo('\n', i + 2);
    else if (c === '/' && sql[i + 1] === '*') i = skipTo('*/', i + 2);
    else if (c === '?' || ((c === ':' || c === '@' || c === '$') && isNameChar(sql[i + 1]) && !isNameChar(sql[i - 1]))) {
      pieces.push(sql.slice(start, i));
      i++;
      while (i < sql.length && (c === '?' ? /[0-9]/.test(sql[i]) : isNameChar(sql[i]))) i++;
      start = i;
    } else if (isNameChar(c)) {
      // A name or number as a whole: `a$b` is one identifier, not `a` and a parameter.
      while (i < sql.length && isNameChar(sql[i])) i++;
    } else i++;
  }
  pieces.push(sql.slice(start));
  return pieces;
}

function skipQuoted(sql: string, at: number, quote: string): number {
  for (let i = at + 1; i < sql.length; i++) {
    if (sql[i] !== quote) continue;
    if (sql[i + 1] === quote) i++;
    else return i + 1;
  }
  return sql.length;
}

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f);
}

/** One value as SQLite's expanded SQL writes it: NULL, a number, a string or a blob. */
const VALUE = /NULL|-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|'(?:[^']|'')*'|x'[0-9a-f]*'/iy;
/** Below this, %.15g (how SQLite writes a REAL) is exact for whole numbers. */
const EXACT_BELOW = 1e15;

/**
 * `expanded` with each bound REAL that is a whole number written as an integer; null when the
 * text does not line up with the statement's pieces (then it is shown as SQLite gave it).
 */
export function showWholeNumbers(expanded: string, pieces: readonly string[]): string | null {
  if (!expanded.startsWith(pieces[0])) return null;
  let out = pieces[0];
  let at = pieces[0].length;
  for (let k = 1; k < pieces.length; k++) {
    VALUE.lastIndex = at;
    const value = VALUE.exec(expanded)?.[0];
    if (value === undefined) return null;
    at += value.length;
    out += wholeNumber(value) ?? value;
    const piece = pieces[k];
    // SQLite keeps the statement's text up to its end; a trailing comment after `;` is not part of it.
    const last = k === pieces.length - 1;
    if (last ? !piece.startsWith(expanded.slice(at)) : !expanded.startsWith(piece, at)) return null;
    out += last ? expanded.slice(at) : piece;
    at += last ? expanded.length - at : piece.length;
  }
  return out;
}

function wholeNumber(value: string): string | null {
  if (!/^-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/i.test(value) || !/[.e]/i.test(value)) return null;
  const n = Number(value);
  return Number.isInteger(n) && Math.abs(n) < EXACT_BELOW ? String(n) : null;
}

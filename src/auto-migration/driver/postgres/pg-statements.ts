/** One statement of a SQL file, as written, with the 1-based line where it starts (for error messages). */
export interface Statement {
  readonly text: string;
  readonly line: number;
}

/** A statement of a transactional file that PostgreSQL refuses inside a transaction block (SQLSTATE 25001). */
export interface RefusedStatement {
  readonly statement: string;
  readonly line: number;
  /** A short name for what is refused, e.g. "CREATE INDEX CONCURRENTLY". */
  readonly what: string;
}

type TokenKind = 'word' | 'quoted' | 'string' | 'dollar' | 'param' | 'number' | 'punct';

interface Token {
  readonly kind: TokenKind;
  /** Lower-cased for words, the name for quoted identifiers, the raw text otherwise. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

interface ScannedStatement extends Statement {
  readonly tokens: readonly Token[];
}

// PostgreSQL's identifier characters (scan.l: ident_start, ident_cont); `$` may continue an identifier but not start one.
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;
// A dollar-quote delimiter: `$$` or `$tag$` where the tag is an identifier without `$` (so `$1` is a parameter).
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/**
 * Splits the text of a `-- transaction: false` SQL file into its statements, so that each can be
 * sent alone by PostgreSQL's simple protocol (a multi-statement message runs as one implicit
 * transaction, which `CREATE INDEX CONCURRENTLY` refuses).
 *
 * A `;` ends a statement unless it is inside a single-quoted string (`''` escapes; `E'...'` also
 * takes backslash escapes; `U&'...'`, `B'...'`, `X'...'` as plain strings), a dollar-quoted string
 * (`$$...$$`, `$tag$...$tag$`; `$1` is a parameter), a double-quoted identifier (`""` escapes), a
 * `--` comment, a `/* *\/` comment (they nest), parentheses (a multi-action `CREATE RULE`), or the
 * `BEGIN ATOMIC ... END` body of a `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (found the way psql
 * finds it: `BEGIN`, and `CASE` inside it, open, `END` closes, outside parentheses). Plain strings
 * are read with `standard_conforming_strings` on, the default since PostgreSQL 9.1.
 *
 * Each statement's text is as written, from its first token to its last, without the `;`:
 * comments inside are kept, comments and white space before and after are not. Statements with no
 * SQL (only white space or comments) are dropped; text after the last `;` is a statement.
 *
 * @throws Error naming the line where an unterminated string, identifier, comment or dollar quote opened.
 */
export function splitStatements(sql: string): Statement[] {
  return scanStatements(sql).map(({ text, line }) => ({ text, line }));
}

/**
 * The statements of a transactional SQL file that PostgreSQL refuses inside a transaction block
 * (SQLSTATE 25001), each with a short name of what is refused. Matched on the statement's leading
 * keywords (case-insensitive, comments skipped), so a keyword inside a string, a dollar-quoted
 * body (`DO $$ ... VACUUM ... $$`) or a comment is never a hit.
 *
 * The list follows the PostgreSQL reference pages that say "cannot be executed inside a
 * transaction block": `CREATE [UNIQUE] INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
 * `REINDEX ... CONCURRENTLY` (keyword or option), `REINDEX SCHEMA|DATABASE|SYSTEM`, `VACUUM`,
 * `CLUSTER` without a table, `CREATE|DROP DATABASE`, `ALTER DATABASE ... SET TABLESPACE`,
 * `CREATE|DROP TABLESPACE`, `ALTER SYSTEM`, `DISCARD ALL`, `ALTER TABLE ... DETACH PARTITION ...
 * CONCURRENTLY`, `CREATE SUBSCRIPTION` unless it creates no slot (`create_slot = false` or
 * `connect = false`), `DROP SUBSCRIPTION` unless an earlier statement of the file set its
 * `slot_name = NONE`, `ALTER SUBSCRIPTION ... REFRESH`, `ALTER SUBSCRIPTION ... SET|ADD|DROP
 * PUBLICATION` unless `refresh = false`, and `ALTER SUBSCRIPTION ... SET (failover | two_phase = false)`.
 *
 * @throws Error as {@link splitStatements} does for an unterminated quote or comment.
 */
export function statementsRefusedInTransaction(sql: string): RefusedStatement[] {
  const statements = scanStatements(sql);
  const refused: RefusedStatement[] = [];
  statements.forEach((statement, index) => {
    const what = refusedInTransaction(statement.tokens, statements.slice(0, index));
    if (what) refused.push({ statement: statement.text, line: statement.line, what });
  });
  return refused;
}

function scanStatements(sql: string): ScannedStatement[] {
  const statements: ScannedStatement[] = [];
  let tokens: Token[] = [];
  let parenDepth = 0;
  let beginDepth = 0;
  const finish = (): void => {
    if (tokens.length > 0) {
      const first = tokens[0];
      statements.push({ text: sql.slice(first.start, tokens[tokens.length - 1].end), line: first.line, tokens });
    }
    tokens = [];
    parenDepth = 0;
    beginDepth = 0;
  };
  for (const token of tokenize(sql)) {
    if (token.kind === 'punct') {
      if (token.value === ';' && parenDepth === 0 && beginDepth === 0) {
        finish();
        continue;
      }
      if (token.value === '(') parenDepth++;
      else if (token.value === ')' && parenDepth > 0) parenDepth--;
    } else if (token.kind === 'word' && parenDepth === 0 && definesRoutine(tokens)) {
      // psql's heuristic for SQL-standard bodies (PG 14+): `;` inside BEGIN ATOMIC ... END does not end the statement.
      if (token.value === 'begin') beginDepth++;
      else if (token.value === 'case' && beginDepth > 0) beginDepth++;
      else if (token.value === 'end' && beginDepth > 0) beginDepth--;
    }
    tokens.push(token);
  }
  finish();
  return statements;
}

/** Whether the statement so far starts `CREATE [OR REPLACE] FUNCTION|PROCEDURE`. */
function definesRoutine(tokens: readonly Token[]): boolean {
  if (!isWord(tokens[0], 'create')) return false;
  const kind = isWord(tokens[1], 'or') && isWord(tokens[2], 'replace') ? tokens[3] : tokens[1];
  return isWord(kind, 'function') || isWord(kind, 'procedure');
}

/** PostgreSQL's lexical structure, as far as finding statement ends and leading keywords needs it; comments and white space yield nothing. */
function* tokenize(sql: string): Generator<Token> {
  let i = 0;
  let line = 1;
  const length = sql.length;
  /** Moves past `sql[from, to)`, counting the lines it holds. */
  const advanceTo = (to: number): void => {
    for (let k = i; k < to; k++) if (sql.charCodeAt(k) === 10) line++;
    i = to;
  };
  const token = (kind: TokenKind, start: number, startLine: number, value = sql.slice(start, i)): Token => ({ kind, value, start, end: i, line: startLine });

  while (i < length) {
    const c = sql[i];
    const start = i;
    const startLine = line;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? length : newline;
    } else if (c === '/' && sql[i + 1] === '*') {
      advanceTo(blockCommentEnd(sql, i, startLine));
    } else if (c === "'") {
      advanceTo(quotedEnd(sql, i, "'", false, startLine));
      yield token('string', start, startLine);
    } else if (c === '"') {
      advanceTo(quotedEnd(sql, i, '"', false, startLine));
      yield token('quoted', start, startLine, sql.slice(start + 1, i - 1).replace(/""/g, '"'));
    } else if (c === '$') {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close === -1) throw new Error(`Unterminated dollar-quoted string: ${tag[0]} opened at line ${startLine} is never closed. Close it with ${tag[0]}.`);
        advanceTo(close + tag[0].length);
        yield token('dollar', start, startLine);
      } else {
        i++;
        while (i < length && isDigit(sql[i])) i++;
        yield token(i - start > 1 ? 'param' : 'punct', start, startLine);
      }
    } else if (IDENT_START.test(c)) {
      i++;
      while (i < length && IDENT_CONT.test(sql[i])) i++;
      const word = sql.slice(start, i).toLowerCase();
      if (word === 'e' && sql[i] === "'") {
        advanceTo(quotedEnd(sql, i, "'", true, startLine));
        yield token('string', start, startLine);
      } else if (word === 'u' && sql[i] === '&' && (sql[i + 1] === "'" || sql[i + 1] === '"')) {
        const quote = sql[i + 1];
        advanceTo(quotedEnd(sql, i + 1, quote, false, startLine));
        yield token(quote === "'" ? 'string' : 'quoted', start, startLine);
      } else {
        yield token('word', start, startLine, word);
      }
    } else if (isDigit(c)) {
      while (i < length && (isDigit(sql[i]) || sql[i] === '.' || sql[i] === '_')) i++;
      yield token('number', start, startLine);
    } else {
      i++;
      yield token('punct', start, startLine);
    }
  }
}

/** The index just past the `*\/` that closes the comment opened at `open`; PostgreSQL's block comments nest. */
function blockCommentEnd(sql: string, open: number, openLine: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new Error(`Unterminated /* comment opened at line ${openLine}. Close it with */ (comments nest in PostgreSQL: every /* inside it needs its own */).`);
}

/** The index just past the quote that closes the string or identifier opened at `open`; a doubled quote is part of it, and so is a backslash-escaped one in an `E''` string. */
function quotedEnd(sql: string, open: number, quote: string, backslashEscapes: boolean, openLine: number): number {
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  const what = quote === '"' ? 'quoted identifier' : backslashEscapes ? "E'' string" : 'quoted string';
  throw new Error(
    `Unterminated ${what} opened at line ${openLine}. Close it with ${quote}${quote === "'" ? " (write '' for a quote inside it)" : ' (write "" for a quote inside it)'}.`,
  );
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.value === word;
}

/** Whether `token` names something: a word, a quoted identifier or a `U&""` one. */
function isName(token: Token | undefined): boolean {
  return token?.kind === 'word' || token?.kind === 'quoted';
}

/** What PostgreSQL refuses in a transaction block about this statement, if anything. `earlier`: the file's statements before it. */
function refusedInTransaction(tokens: readonly Token[], earlier: readonly ScannedStatement[]): string | undefined {
  const at = (k: number): string | undefined => (tokens[k]?.kind === 'word' ? tokens[k].value : undefined);
  switch (at(0)) {
    case 'vacuum':
      return 'VACUUM';
    case 'create': {
      const index = at(1) === 'unique' ? 2 : 1;
      if (at(index) === 'index' && at(index + 1) === 'concurrently') return 'CREATE INDEX CONCURRENTLY';
      if (at(1) === 'database') return 'CREATE DATABASE';
      if (at(1) === 'tablespace') return 'CREATE TABLESPACE';
      if (at(1) === 'subscription') {
        // create_slot defaults to true; connect = false turns it off.
        const options = withOptions(tokens, 2);
        return isFalse(options.get('create_slot')) || isFalse(options.get('connect')) ? undefined : 'CREATE SUBSCRIPTION';
      }
      return undefined;
    }
    case 'drop':
      if (at(1) === 'index' && at(2) === 'concurrently') return 'DROP INDEX CONCURRENTLY';
      if (at(1) === 'database') return 'DROP DATABASE';
      if (at(1) === 'tablespace') return 'DROP TABLESPACE';
      if (at(1) === 'subscription') {
        const name = at(2) === 'if' && at(3) === 'exists' ? tokens[4] : tokens[2];
        return name && slotUnsetEarlier(name.value, earlier) ? undefined : 'DROP SUBSCRIPTION';
      }
      return undefined;
    case 'reindex':
      return reindexRefusal(tokens);
    case 'cluster': {
      // Only the database-wide form (no table named) is refused: CLUSTER [VERBOSE] or CLUSTER (options).
      let k = 1;
      if (at(k) === 'verbose') k++;
      else if (tokens[k]?.value === '(') k = closingParen(tokens, k) + 1;
      return isName(tokens[k]) ? undefined : 'CLUSTER without a table';
    }
    case 'discard':
      return at(1) === 'all' ? 'DISCARD ALL' : undefined;
    case 'alter':
      return alterRefusal(tokens, at);
    default:
      return undefined;
  }
}

function alterRefusal(tokens: readonly Token[], at: (k: number) => string | undefined): string | undefined {
  switch (at(1)) {
    case 'system':
      return 'ALTER SYSTEM';
    case 'database':
      return at(3) === 'set' && at(4) === 'tablespace' ? 'ALTER DATABASE ... SET TABLESPACE' : undefined;
    case 'table': {
      const topLevel = wordsOutsideParens(tokens);
      const detach = topLevel.indexOf('detach');
      return detach !== -1 && topLevel[detach + 1] === 'partition' && topLevel.includes('concurrently', detach)
        ? 'ALTER TABLE ... DETACH PARTITION CONCURRENTLY'
        : undefined;
    }
    case 'subscription': {
      const action = at(3);
      if (action === 'refresh') return 'ALTER SUBSCRIPTION ... REFRESH';
      if ((action === 'set' || action === 'add' || action === 'drop') && at(4) === 'publication') {
        return isFalse(withOptions(tokens, 5).get('refresh')) ? undefined : `ALTER SUBSCRIPTION ... ${action.toUpperCase()} PUBLICATION`;
      }
      if (action === 'set' && tokens[4]?.value === '(') {
        const options = optionList(tokens, 4);
        if (options.has('failover')) return 'ALTER SUBSCRIPTION ... SET (failover)';
        if (options.has('two_phase') && isFalse(options.get('two_phase'))) return 'ALTER SUBSCRIPTION ... SET (two_phase = false)';
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** `REINDEX [ (options) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ] ...`: the multi-table kinds always, the others when concurrent. */
function reindexRefusal(tokens: readonly Token[]): string | undefined {
  let k = 1;
  let concurrentOption = false;
  if (tokens[k]?.value === '(') {
    const options = optionList(tokens, k);
    concurrentOption = options.has('concurrently') && !isFalse(options.get('concurrently'));
    k = closingParen(tokens, k) + 1;
  }
  const kind = tokens[k]?.kind === 'word' ? tokens[k].value : undefined;
  if (kind === 'schema' || kind === 'database' || kind === 'system') return `REINDEX ${kind.toUpperCase()}`;
  return concurrentOption || isWord(tokens[k + 1], 'concurrently') ? 'REINDEX CONCURRENTLY' : undefined;
}

/** Whether an earlier statement ran `ALTER SUBSCRIPTION <name> SET (slot_name = NONE)`, after which dropping it touches no slot. */
function slotUnsetEarlier(name: string, earlier: readonly ScannedStatement[]): boolean {
  return earlier.some(({ tokens }) => {
    if (!isWord(tokens[0], 'alter') || !isWord(tokens[1], 'subscription') || tokens[2]?.value !== name || !isWord(tokens[3], 'set') || tokens[4]?.value !== '(')
      return false;
    return optionList(tokens, 4).get('slot_name')?.toLowerCase() === 'none';
  });
}

/** The options of the statement's `WITH ( ... )` clause found at or after `from` outside parentheses, or none. */
function withOptions(tokens: readonly Token[], from: number): Map<string, string | undefined> {
  let depth = 0;
  for (let k = from; k < tokens.length; k++) {
    const value = tokens[k].value;
    if (value === '(') depth++;
    else if (value === ')') depth--;
    else if (depth === 0 && isWord(tokens[k], 'with') && tokens[k + 1]?.value === '(') return optionList(tokens, k + 1);
  }
  return new Map();
}

/** `( name [ = value ] [, ...] )` opened at `open`: lower-cased names to their values (undefined when given without one), string quotes removed. */
function optionList(tokens: readonly Token[], open: number): Map<string, string | undefined> {
  const options = new Map<string, string | undefined>();
  const close = closingParen(tokens, open);
  let k = open + 1;
  while (k < close) {
    const name = tokens[k].value.toLowerCase();
    let value: string | undefined;
    let next = k + 1;
    if (tokens[next]?.value === '=') next++;
    if (next < close && tokens[next].value !== ',') {
      const token = tokens[next];
      value = token.kind === 'string' ? token.value.slice(1, -1).replace(/''/g, "'") : token.value;
      next++;
    }
    options.set(name, value);
    while (next < close && tokens[next].value !== ',') next++;
    k = next + 1;
  }
  return options;
}

/** The index of the `)` that closes the `(` at `open` (the last token when none does). */
function closingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    if (tokens[k].value === '(') depth++;
    else if (tokens[k].value === ')' && --depth === 0) return k;
  }
  return tokens.length - 1;
}

/** The statement's words outside parentheses, in order. */
function wordsOutsideParens(tokens: readonly Token[]): string[] {
  const words: string[] = [];
  let depth = 0;
  for (const token of tokens) {
    if (token.value === '(') depth++;
    else if (token.value === ')') depth--;
    else if (depth === 0 && token.kind === 'word') words.push(token.value);
  }
  return words;
}

/** PostgreSQL's spellings of a false boolean option (defGetBoolean): false, off, 0, any case, quoted or not. */
function isFalse(value: string | undefined): boolean {
  return value !== undefined && ['false', 'off', '0'].includes(value.toLowerCase());
}

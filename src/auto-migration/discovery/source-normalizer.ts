/**
 * Normalises JavaScript source text so that formatting does not count: comments are removed,
 * and runs of white space (in code and inside string literals alike) collapse to one space
 * where one is needed to keep two tokens apart, and to nothing elsewhere. Used for checksums,
 * so reformatting a migration, or re-indenting the SQL inside it, does not change its checksum.
 *
 * The output is hashed into checksums stored in users' databases: it must stay the same, byte for
 * byte, for every input (test/unit/source-normalizer-golden.spec.ts holds it to recorded outputs).
 */
export function normalizeSource(source: string): string {
  // It runs for every migration in a fresh process, mostly before V8 has optimised it, so the
  // regular expressions do the scanning (a whole token per call) and the loop keeps its state in
  // locals. Text that comes out unchanged is not copied token by token: `out` receives the
  // source from `copied` up to `i` in one slice when something else must follow it.
  /** The output so far, in parts; none is empty, so the last character of the last part ends it. */
  const out: string[] = [];
  const n = source.length;
  let i = 0;
  let copied = 0;
  let inTemplate = false;
  /** `{` opened and not yet closed in the current `${...}` substitution. */
  let depth = 0;
  /** The `depth` of each code frame suspended by a template literal, innermost last. */
  const enclosing: number[] = [];

  while (i < n) {
    if (inTemplate) {
      TEMPLATE_TEXT.lastIndex = i;
      TEMPLATE_TEXT.test(source);
      const end = TEMPLATE_TEXT.lastIndex;
      copied = addLiteral(out, source, copied, i, end);
      i = end;
      if (i === n) break;
      // The text stops at the closing backtick or at `${`, both copied as they are.
      if (source.charCodeAt(i) === BACKTICK) {
        depth = enclosing.pop()!;
        i++;
      } else {
        depth = 0;
        i += 2;
      }
      inTemplate = false;
      continue;
    }

    PLAIN.lastIndex = i;
    if (PLAIN.test(source)) {
      i = PLAIN.lastIndex;
      if (i === n) break;
    }
    const c = source.charCodeAt(i);
    if (c === SLASH && !startsComment(source, i)) {
      if (regexAllowed(tailOf(out, source, copied, i))) {
        REGEX.lastIndex = i;
        REGEX.test(source);
        i = REGEX.lastIndex;
      } else {
        i++;
      }
    } else if (c === QUOTE || c === DOUBLE_QUOTE) {
      QUOTED.lastIndex = i;
      QUOTED.test(source);
      const end = QUOTED.lastIndex;
      copied = addLiteral(out, source, copied, i, end);
      i = end;
    } else if (c === BACKTICK) {
      enclosing.push(depth);
      inTemplate = true;
      i++;
    } else if (c === OPEN_BRACE || c === CLOSE_BRACE) {
      // Braces only matter inside a `${...}` substitution, where the `}` at depth 0 ends it.
      if (enclosing.length > 0) {
        if (c === OPEN_BRACE) depth++;
        else if (depth > 0) depth--;
        else inTemplate = true;
      }
      i++;
    } else {
      // White space or a comment, as a run of them.
      if (copied < i) out.push(source.slice(copied, i));
      GAP.lastIndex = i;
      GAP.test(source);
      copied = i = GAP.lastIndex;
      // What follows the gap starts with the gap's next source character, so the space can be
      // decided here; none is ever needed before a `/`, so `regexAllowed` sees the same output.
      if (i < n && out.length > 0) {
        const last = out[out.length - 1];
        if (needsSpace(last.charCodeAt(last.length - 1), source.charCodeAt(i))) out.push(' ');
      }
    }
  }
  if (copied < n) out.push(source.slice(copied));
  return out.join('');
}

const SLASH = 0x2f;
const STAR = 0x2a;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKTICK = 0x60;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const PLUS = 0x2b;
const MINUS = 0x2d;

/** In code, a run of characters copied as they are; `+` and `-` only matter beside a gap (see `needsSpace`). */
const PLAIN = /[^\s/'"`{}]+/y;
/** White space, line comments and block comments (an unterminated one runs to the end). */
const GAP = /(?:\s+|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))+/y;
/** A string literal; an unterminated one ends with the line, newline included. */
const QUOTED = /'(?:[^'\\\n]|\\[\s\S]?)*['\n]?|"(?:[^"\\\n]|\\[\s\S]?)*["\n]?/y;
/**
 * A regular expression literal, read to its real end: a `/` inside a class `[...]` does not end it.
 * An unterminated one ends with the line, newline included.
 */
const REGEX = /\/(?:[^\\\n[/]|\\[\s\S]?|\[(?:[^\\\n\]]|\\[\s\S]?)*\]?)*[\n/]?/y;
/** Template text up to its closing backtick or its next `${`. */
const TEMPLATE_TEXT = /(?:[^\\`$]|\\[\s\S]?|\$(?!\{))*/y;
/** A run of white space other than one plain space: two or more characters, or one that is not a space. */
const COLLAPSIBLE = /\s{2,}|[^\S ]/g;

/** After these, a `/` starts a regular expression literal rather than a division. */
const BEFORE_REGEX = new Set([...'(,=:[!&|?{};+-*%<>~^']);
/** A keyword, not a property of the same name (`x.return / 2`). */
const KEYWORDS_BEFORE_REGEX = /(?:^|[^A-Za-z0-9_$.])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;
/** Longer than any keyword above, so that `^` in it matches only at the start of the output. */
const TAIL_LENGTH = 8;

/** The end of the output so far (all of it, or at least its last TAIL_LENGTH characters). */
function tailOf(out: string[], source: string, copied: number, i: number): string {
  let tail = source.slice(Math.max(copied, i - TAIL_LENGTH), i);
  for (let p = out.length - 1; p >= 0 && tail.length < TAIL_LENGTH; p--) tail = out[p] + tail;
  return tail;
}

/** Whether the `/` at `i` starts a comment (reading past the end makes V8 drop its optimised code). */
function startsComment(source: string, i: number): boolean {
  if (i + 1 === source.length) return false;
  const next = source.charCodeAt(i + 1);
  return next === SLASH || next === STAR;
}

function regexAllowed(tail: string): boolean {
  if (tail.length === 0) return true;
  const last = tail[tail.length - 1];
  // `a++ / 2`: a postfix increment ends an operand, so the slash divides.
  if ((last === '+' || last === '-') && tail.length > 1 && tail[tail.length - 2] === last) return false;
  return BEFORE_REGEX.has(last) || KEYWORDS_BEFORE_REGEX.test(tail);
}

function needsSpace(before: number, after: number): boolean {
  if (isWordChar(before) && isWordChar(after)) return true;
  // `a + +b` and `a - -b` must not become `a++b` / `a--b`.
  return before === after && (before === PLUS || before === MINUS);
}

/** `[A-Za-z0-9_$\u0080-\uffff]`, on a UTF-16 code unit. */
function isWordChar(c: number): boolean {
  return c >= 0x80 || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24;
}

/**
 * Outputs the string literal or template text `source[start, end)` with its white space collapsed,
 * copying it along with the rest when it has none to collapse. Returns the new `copied`.
 */
function addLiteral(out: string[], source: string, copied: number, start: number, end: number): number {
  const text = source.slice(start, end);
  // Replacing only the runs that are not one plain space already is the same as replacing every
  // run of white space with one space, and leaves most literals untouched.
  const collapsed = text.replace(COLLAPSIBLE, ' ');
  if (collapsed === text) return copied;
  if (copied < start) out.push(source.slice(copied, start));
  out.push(collapsed);
  return end;
}

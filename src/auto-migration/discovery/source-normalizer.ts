/**
 * Normalises JavaScript source text so that formatting does not count: comments are removed,
 * and runs of white space (in code and inside string literals alike) collapse to one space
 * where one is needed to keep two tokens apart, and to nothing elsewhere. Used for checksums,
 * so reformatting a migration, or re-indenting the SQL inside it, does not change its checksum.
 */
export function normalizeSource(source: string): string {
  return new Normalizer(source).run();
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
/** After these, a `/` starts a regular expression literal rather than a division. */
const BEFORE_REGEX = new Set([...'(,=:[!&|?{};+-*%<>~^']);
/** A keyword, not a property of the same name (`x.return / 2`). */
const KEYWORDS_BEFORE_REGEX = /(?:^|[^A-Za-z0-9_$.])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/** Characters with no special meaning to the scanner, as a run; and white space, as a run. */
const PLAIN = /[^\s/'"`{}+\-]+/y;
const SPACE = /\s+/y;

type Frame = { kind: 'code'; depth: number } | { kind: 'template' };

class Normalizer {
  private out = '';
  private pendingSpace = false;
  private i = 0;
  private readonly stack: Frame[] = [{ kind: 'code', depth: 0 }];

  constructor(private readonly src: string) {}

  run(): string {
    while (this.i < this.src.length) {
      const frame = this.stack[this.stack.length - 1];
      if (frame.kind === 'template') this.templateChar();
      else this.codeChar(frame);
    }
    return this.out;
  }

  private emit(text: string): void {
    if (this.pendingSpace && this.out.length > 0 && needsSpace(this.out[this.out.length - 1], text[0])) this.out += ' ';
    this.pendingSpace = false;
    this.out += text;
  }

  private codeChar(frame: { kind: 'code'; depth: number }): void {
    const c = this.src[this.i];
    const next = this.src[this.i + 1];
    // Runs of plain code and of white space are taken whole: a checksum is computed for every
    // applied migration at every start, so this loop is on the start-up path.
    PLAIN.lastIndex = this.i;
    const plain = PLAIN.exec(this.src);
    if (plain) {
      this.emit(plain[0]);
      this.i += plain[0].length;
      return;
    }
    SPACE.lastIndex = this.i;
    const space = SPACE.exec(this.src);
    if (space) {
      this.pendingSpace = true;
      this.i += space[0].length;
    } else if (c === '/' && next === '/') {
      const end = this.src.indexOf('\n', this.i);
      this.i = end === -1 ? this.src.length : end;
      this.pendingSpace = true;
    } else if (c === '/' && next === '*') {
      const end = this.src.indexOf('*/', this.i + 2);
      this.i = end === -1 ? this.src.length : end + 2;
      this.pendingSpace = true;
    } else if (c === '/' && this.regexAllowed()) {
      this.emit(this.readRegex());
    } else if (c === '"' || c === "'") {
      this.emit(this.readQuoted(c));
    } else if (c === '`') {
      this.emit('`');
      this.i++;
      this.stack.push({ kind: 'template' });
    } else if (c === '{') {
      frame.depth++;
      this.emit(c);
      this.i++;
    } else if (c === '}' && frame.depth === 0 && this.stack.length > 1) {
      // End of a `${...}` substitution: back to the template text around it.
      this.stack.pop();
      this.emit(c);
      this.i++;
    } else {
      if (c === '}') frame.depth--;
      this.emit(c);
      this.i++;
    }
  }

  private templateChar(): void {
    let text = '';
    while (this.i < this.src.length) {
      const c = this.src[this.i];
      if (c === '\\') {
        text += this.src.slice(this.i, this.i + 2);
        this.i += 2;
      } else if (c === '`') {
        this.stack.pop();
        this.i++;
        this.out += collapse(text) + '`';
        return;
      } else if (c === '$' && this.src[this.i + 1] === '{') {
        this.i += 2;
        this.out += collapse(text) + '${';
        this.stack.push({ kind: 'code', depth: 0 });
        return;
      } else {
        text += c;
        this.i++;
      }
    }
    this.out += collapse(text);
  }

  private readQuoted(quote: string): string {
    let j = this.i + 1;
    while (j < this.src.length && this.src[j] !== quote && this.src[j] !== '\n') j += this.src[j] === '\\' ? 2 : 1;
    const text = this.src.slice(this.i, j + 1);
    this.i = j + 1;
    return collapse(text);
  }

  private readRegex(): string {
    let j = this.i + 1;
    let inClass = false;
    while (j < this.src.length && this.src[j] !== '\n') {
      const c = this.src[j];
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      j++;
    }
    const text = this.src.slice(this.i, j + 1);
    this.i = j + 1;
    return text;
  }

  private regexAllowed(): boolean {
    const last = this.out[this.out.length - 1];
    if (last === undefined) return true;
    // `a++ / 2`: a postfix increment ends an operand, so the slash divides.
    if ((last === '+' || last === '-') && this.out[this.out.length - 2] === last) return false;
    return BEFORE_REGEX.has(last) || KEYWORDS_BEFORE_REGEX.test(this.out);
  }
}

function needsSpace(before: string, after: string): boolean {
  if (WORD.test(before) && WORD.test(after)) return true;
  // `a + +b` and `a - -b` must not become `a++b` / `a--b`.
  return before === after && (before === '+' || before === '-');
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ');
}

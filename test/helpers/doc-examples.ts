import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './child-process';
import { STRICT_APP, type TypeDiagnostic, typeCheck } from './type-check';

/**
 * The documentation's complete examples: a fenced TypeScript block right after a line
 * `<!-- example: GROUP/path/to/file.ts -->`. The blocks of one group, across README.md and docs/,
 * are the files of one small project.
 */
export interface DocExample {
  group: string;
  /** The file's path inside its group's project. */
  path: string;
  /** Where the block is written: the markdown file (relative to the repo) and the marker's line. */
  where: string;
  source: string;
}

/** The markdown a user reads: README.md and every page under docs/, except the generated API reference. */
export function documentationFiles(): string[] {
  const pages: string[] = [join(REPO_ROOT, 'README.md')];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join(REPO_ROOT, 'docs', 'api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) pages.push(path);
    }
  };
  walk(join(REPO_ROOT, 'docs'));
  return pages;
}

const MARKER = /^<!--\s*example:\s*(.*?)\s*-->\s*$/;
const MARKER_START = /^<!--\s*example\b/;
const GROUP_PATH = /^[a-z0-9][a-z0-9-]*\/(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_.-]+\.ts$/;
const TS_FENCE = /^```(ts|typescript)\s*$/;

/** A fenced code block: the line indexes of its opening and closing fences. */
interface CodeBlock {
  open: number;
  close: number;
}

/** The fenced blocks of a markdown text, in order; an unclosed fence is an error naming its line. */
function codeBlocks(lines: readonly string[], file: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (let open = 0; open < lines.length; open++) {
    if (!/^```/.test(lines[open])) continue;
    const close = lines.findIndex((line, j) => j > open && /^```\s*$/.test(line));
    if (close === -1) throw new Error(`${file}:${open + 1}: a code block is never closed`);
    blocks.push({ open, close });
    open = close;
  }
  return blocks;
}

/**
 * The marked examples of one markdown text. A marker that is malformed or not followed by a
 * ```ts block is an error naming its line: a typo must not silently drop an example from the test.
 */
export function examplesIn(markdown: string, file: string): DocExample[] {
  const lines = markdown.split('\n');
  const blocks = codeBlocks(lines, file);
  return lines.flatMap((line, i) => {
    if (!MARKER_START.test(line) || blocks.some((block) => block.open < i && i < block.close)) return [];
    const where = `${file}:${i + 1}`;
    const target = MARKER.exec(line)?.[1] ?? '';
    if (!GROUP_PATH.test(target)) throw new Error(`${where}: "${line}" must read <!-- example: group/path/file.ts -->`);
    const block = blocks.find((candidate) => candidate.open === i + 1);
    if (block === undefined || !TS_FENCE.test(lines[block.open])) throw new Error(`${where}: the line after the example marker must open a \`\`\`ts block`);
    const slash = target.indexOf('/');
    return [{ group: target.slice(0, slash), path: target.slice(slash + 1), where, source: `${lines.slice(block.open + 1, block.close).join('\n')}\n` }];
  });
}

/**
 * The unmarked ```ts blocks of a markdown text that read as whole files (their first line of code
 * is an `import`): a complete example the test would not compile. Returns where each starts.
 */
export function unmarkedFilesIn(markdown: string, file: string): string[] {
  const lines = markdown.split('\n');
  return codeBlocks(lines, file)
    .filter(({ open, close }) => {
      const code = lines.slice(open + 1, close).filter((line) => line.trim() !== '' && !/^\s*(\/\/|\/\*|\*)/.test(line));
      return TS_FENCE.test(lines[open]) && !MARKER_START.test(lines[open - 1] ?? '') && /^import\b/.test(code[0] ?? '');
    })
    .map(({ open }) => `${file}:${open + 1}`);
}

/** Every marked example of README.md and docs/, each file of a group given once. */
export function documentationExamples(): DocExample[] {
  const examples = documentationFiles().flatMap((path) => examplesIn(readFileSync(path, 'utf8'), relative(REPO_ROOT, path)));
  const seen = new Map<string, string>();
  for (const example of examples) {
    const key = `${example.group}/${example.path}`;
    const first = seen.get(key);
    if (first !== undefined) throw new Error(`${example.where}: ${key} is already given at ${first}`);
    seen.set(key, example.where);
  }
  return examples;
}

/** Where a group's files sit while they are checked (inside the repo, so that its node_modules resolve). */
export function exampleFileName(example: Pick<DocExample, 'group' | 'path'>): string {
  return join('.tmp', 'doc-examples', example.group, example.path);
}

/** The settings a user's strict Nest app would compile the examples with (Jest's globals for test files). */
export const EXAMPLE_COMPILER_OPTIONS: ts.CompilerOptions = { ...STRICT_APP, skipLibCheck: true, types: ['node', 'jest'] };

/**
 * Type-checks every example in one program against the package's `declarations`; returns the
 * compiler's messages per example (empty when it compiles).
 */
export function checkExamples(examples: readonly DocExample[], declarations: Map<string, string>): Map<DocExample, TypeDiagnostic[]> {
  const files = Object.fromEntries(examples.map((example) => [exampleFileName(example), example.source]));
  const diagnostics = typeCheck(files, declarations, EXAMPLE_COMPILER_OPTIONS);
  return new Map(examples.map((example) => [example, diagnostics[exampleFileName(example)]]));
}

/** The examples that do not compile, each with the compiler's messages, as a writer reads them. */
export function describeFailures(results: Map<DocExample, TypeDiagnostic[]>): string[] {
  return [...results]
    .filter(([, diagnostics]) => diagnostics.length > 0)
    .map(([example, diagnostics]) => `${example.where} ${example.group}/${example.path}\n${diagnostics.map((d) => `  TS${d.code}: ${d.message}`).join('\n')}`);
}

/*
 * The documentation a user reads holds together: every relative link in README.md and docs/ leads
 * to a file and heading that exist, every page is reachable from the README or the docs index, and
 * no page sends the reader to a document they do not have.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/child-process';
import { documentationFiles } from '../helpers/doc-examples';

/** The text outside fenced code blocks: links and headings in examples are not the page's own. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`; repeats get `-1`, `-2`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

interface Link {
  page: string;
  target: string;
}

function linksIn(page: string): Link[] {
  const text = prose(readFileSync(page, 'utf8')).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map(([, target]) => ({ page, target }))
    .filter(({ target }) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

const pages = documentationFiles();
const name = (path: string) => relative(REPO_ROOT, path);

describe('documentation links', () => {
  it('finds the pages', () => {
    expect(pages.map(name)).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/troubleshooting.md', 'docs/reference.md']));
  });

  it('every relative link points to an existing file and heading', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const { target } of linksIn(page)) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path === '' ? page : join(dirname(page), decodeURI(path));
        if (!existsSync(file)) broken.push(`${name(page)}: ${target} (no file ${name(file)})`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${name(page)}: ${target} (no heading #${anchor} in ${name(file)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every page is linked from the README or the docs index', () => {
    const linked = new Set(
      [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'docs', 'README.md')].flatMap((index) =>
        linksIn(index).map(({ target }) => join(dirname(index), target.split('#')[0])),
      ),
    );
    const unlinked = pages.filter((page) => page !== join(REPO_ROOT, 'README.md') && !linked.has(page)).map(name);
    expect(unlinked).toEqual([]);
  });

  it('no page refers to documents a user of the package does not have', () => {
    const internal = /design (document|card)|the contract|CONTRACT\.md|house rules?|\bissue #?\d+|\.\.\/shared\//i;
    const found = pages.flatMap((page) =>
      readFileSync(page, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${name(page)}:${i + 1}` }))
        .filter(({ line }) => internal.test(line))
        .map(({ line, at }) => `${at}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });

  it('computes anchors as GitHub does', () => {
    expect([...anchorsOf('# A title\n## Start modes\n### `safety` option\n## LOCK_TIMEOUT\n## Start modes\n```md\n## not a heading\n```\n')]).toEqual([
      'a-title',
      'start-modes',
      'safety-option',
      'lock_timeout',
      'start-modes-1',
    ]);
  });
});

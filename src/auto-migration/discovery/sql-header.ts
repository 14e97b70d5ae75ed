import { isSemver } from './migration-validator';
import { isRuleId, RULE_IDS } from '../safety/rules';

/** What the header of a `.sql` migration declares (fields it leaves out are undefined). */
export interface SqlHeader {
  readonly version?: string;
  readonly description?: string;
  readonly transaction?: boolean;
  /** Safety-analysis rules the migration acknowledges (`-- allow: drop-column, rows-deleted`). */
  readonly allow?: readonly string[];
}

/** The header of a `.sql` migration as read, with every problem found in it or in the file. */
export interface ParsedSqlFile {
  readonly header: SqlHeader;
  /** Problems without a file label (the caller prefixes it), in the order they appear. */
  readonly problems: readonly string[];
}

const KNOWN_KEYS = ['version', 'description', 'transaction', 'allow'] as const;
type HeaderKey = (typeof KNOWN_KEYS)[number];

/**
 * A header field: `-- key: value`. The colon must not start `://`, so a URL in a comment
 * (`-- see https://...`) stays a comment; anything else shaped like `word:` is a field, so a
 * typo such as `-- verison: 1.4.0` is refused instead of being read as a comment.
 */
const FIELD = /^--\s*([A-Za-z][A-Za-z0-9_-]*)\s*:(?!\/\/)(.*)$/;

/**
 * Reads the header of a `.sql` migration: the leading run of `--` comment lines, blank lines
 * allowed among them; it ends at the first line that is anything else (SQL, or a `/*` comment).
 * Every `-- key: value` line in it is a field: `version` (required, semver), `description`,
 * `transaction` (`true` or `false`), `allow` (safety-analysis rule ids, comma-separated); any other key, and a key given twice, is a problem. Other
 * comment lines in the header are free text. A file whose SQL is empty (nothing but white space
 * and comments) is a problem too: it would be recorded as applied having done nothing.
 *
 * @param text the file's text with line endings already normalised to `\n`.
 */
export function parseSqlFile(text: string): ParsedSqlFile {
  const fields: Partial<Record<HeaderKey, string>> = {};
  const problems: string[] = [];
  const lines = text.split('\n');
  let bodyStart = lines.length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!line.startsWith('--')) {
      bodyStart = i;
      break;
    }
    const field = FIELD.exec(line);
    if (!field) continue;
    const [, key, value] = field;
    if (!isKnownKey(key)) {
      problems.push(`unknown header key "${key}" (the header accepts ${KNOWN_KEYS.join(', ')}; a free comment there must not start with "word:")`);
    } else if (fields[key] !== undefined) {
      problems.push(`header key "${key}" is given twice`);
    } else {
      fields[key] = value.trim();
    }
  }

  const header: { version?: string; description?: string; transaction?: boolean; allow?: string[] } = {};
  if (fields.version === undefined) {
    problems.push('has no "-- version: 1.4.0" header comment (the release that introduced the migration; required)');
  } else if (!isSemver(fields.version)) {
    problems.push(`version ${JSON.stringify(fields.version)} is not a semantic version such as "1.4.0"`);
  } else {
    header.version = fields.version;
  }
  if (fields.description !== undefined) header.description = fields.description;
  if (fields.transaction === 'true' || fields.transaction === 'false') header.transaction = fields.transaction === 'true';
  else if (fields.transaction !== undefined) problems.push(`transaction must be true or false (got ${JSON.stringify(fields.transaction)})`);
  if (fields.allow !== undefined) {
    const allow = fields.allow.split(',').map((rule) => rule.trim());
    const unknown = allow.filter((rule) => !isRuleId(rule));
    if (unknown.length > 0)
      problems.push(
        `allow: ${unknown.map((rule) => JSON.stringify(rule)).join(', ')} ${unknown.length === 1 ? 'is not a rule' : 'are not rules'} (${RULE_IDS.join(', ')})`,
      );
    else header.allow = allow;
  }

  if (!containsSql(lines.slice(bodyStart).join('\n'))) problems.push('has no SQL after its header');
  return { header, problems };
}

/**
 * Whether `text` holds anything but white space and SQL comments. Comment markers inside string
 * literals are not told apart, but a literal is always preceded by SQL, which already counts.
 */
export function containsSql(text: string): boolean {
  return /\S/.test(text.replace(/\/\*[\s\S]*?\*\/|--[^\n]*/g, ''));
}

function isKnownKey(key: string): key is HeaderKey {
  return (KNOWN_KEYS as readonly string[]).includes(key);
}

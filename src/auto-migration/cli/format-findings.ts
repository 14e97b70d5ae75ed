import type { Finding } from '../safety/finding';
import { plural } from './text';

/** Longer statements are cut here: the finding names the statement, the dry run shows it whole. */
const STATEMENT_WIDTH = 100;

/**
 * One finding as a block of lines: `error drop-column users.name in 002_drop_name` (with
 * `(accepted)` when the migration acknowledges it), then, indented, what it does, the statement
 * when known, why it hurts and the safe pattern. `indent` prefixes every line.
 */
export function formatFinding(finding: Finding, indent = ''): string[] {
  const head = `${finding.level} ${finding.rule} ${finding.object} in ${finding.migration}${finding.accepted ? ' (accepted)' : ''}`;
  const details = [
    finding.message,
    ...(finding.statement === null ? [] : [`statement: ${statementLine(finding.statement)}`]),
    `why: ${finding.why}`,
    `safe: ${finding.safePattern}`,
  ];
  return [`${indent}${head}`, ...details.map((line) => `${indent}  ${line}`)];
}

/**
 * `3 findings: 1 error not accepted, 1 accepted, 1 warning`: an accepted finding counts as
 * accepted whatever its level, since only unaccepted errors fail `lint`.
 */
export function summarizeFindings(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => !f.accepted && f.level === 'error').length;
  const accepted = findings.filter((f) => f.accepted).length;
  const warnings = findings.filter((f) => !f.accepted && f.level === 'warning').length;
  const parts = [
    ...(errors > 0 ? [`${plural(errors, 'error')} not accepted`] : []),
    ...(accepted > 0 ? [`${accepted} accepted`] : []),
    ...(warnings > 0 ? [plural(warnings, 'warning')] : []),
  ];
  return `${plural(findings.length, 'finding')}: ${parts.join(', ')}`;
}

/** The statement's first non-blank line, cut to a line's width; `...` says there is more. */
function statementLine(statement: string): string {
  const lines = statement
    .trim()
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const first = lines[0] ?? '';
  if (first.length > STATEMENT_WIDTH) return `${first.slice(0, STATEMENT_WIDTH).trimEnd()} ...`;
  return lines.length > 1 ? `${first} ...` : first;
}

import * as semver from 'semver';
import { DuplicateMigrationError } from '../errors/duplicate-migration.error';
import { InvalidMigrationError } from '../errors/invalid-migration.error';
import { MixedPrefixWidthError } from '../errors/mixed-prefix-width.error';
import type { MigrationInterface, MigrationOptions } from '../migration.interface';
import { ClassMigration } from './class-migration';
import { isRuleId, RULE_IDS } from '../safety/rules';
import type { MigrationCandidate, MigrationDefinition } from './migration-definition';
import type { SqlMigrationFile, SqlMigrationFolder } from './sql-file-migrations';

/** A numeric or timestamp prefix, then optionally a separator and a plain-character rest. */
const NAME_PATTERN = /^(\d+)(?:[_.-][A-Za-z0-9_.-]*)?$/;
const MAX_NAME_LENGTH = 200;

const NO_SQL_FILES: SqlMigrationFolder = { files: [], problems: [] };

/**
 * Turns the decorated providers found in the container, and the `.sql` files of `migrationsDir`
 * when there is one, into one ordered list of migrations, or throws one error describing every
 * problem of its kind. Files follow the classes' name rules, prefix widths and order, and a file
 * named like a class is a duplicate. Pure: touches no database.
 */
export function validateMigrations(candidates: readonly MigrationCandidate[], sql: SqlMigrationFolder = NO_SQL_FILES): MigrationDefinition[] {
  // A class listed by several modules is one migration (the last listing's provider, at the first one's place).
  const byType = new Map<MigrationCandidate['type'], MigrationCandidate>();
  for (const candidate of candidates) byType.set(candidate.type, candidate);
  const unique = [...byType.values()];

  const problems: string[] = [];
  const semverOf = memoizedIsSemver();
  for (const candidate of unique) collectDefinitionProblems(candidate, problems, semverOf);
  problems.push(...sql.problems);
  for (const file of sql.files) {
    collectNameProblems(file.label, file.name, problems);
    problems.push(...file.problems);
  }
  if (problems.length > 0) throw new InvalidMigrationError(problems);

  const definitions: MigrationDefinition[] = [...unique.map((candidate) => new ClassMigration(candidate)), ...sql.files.map(sqlDefinition)];
  const sorted = [...definitions].sort((a, b) => compareNames(a.name, b.name));
  // Checked on the sorted list in one pass each; only a list that fails is grouped, in the order given, for the message.
  if (sorted.some((d, k) => k > 0 && d.name === sorted[k - 1].name)) rejectDuplicateNames(definitions);
  const width = sorted.length > 0 ? prefixWidth(sorted[0].name) : 0;
  if (sorted.some((d) => prefixWidth(d.name) !== width)) rejectMixedPrefixWidths(definitions);
  return sorted;
}

/** The number of leading digits of a valid name (NAME_PATTERN): its numeric prefix's width. */
function prefixWidth(name: string): number {
  let width = 0;
  while (width < name.length && name.charCodeAt(width) >= 48 && name.charCodeAt(width) <= 57) width++;
  return width;
}

/** Code-unit order, never locale-aware: the order the contract promises. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Adds the problems of one decorated class to `problems`. A valid class, the common case thousands
 * of times per start, allocates nothing here: messages are built only for what is wrong.
 */
function collectDefinitionProblems(candidate: MigrationCandidate, problems: string[], semverOf: (version: unknown) => boolean): void {
  const label = candidate.type.name || '(anonymous class)';
  const meta = candidate.metadata as Partial<Record<keyof MigrationOptions, unknown>> | null;
  if (typeof meta !== 'object' || meta === null) {
    problems.push(`${label}: @Migration() needs an options object`);
    return;
  }

  const { name, version, description, transaction, checksum, foreignKeys, database, allow } = meta;
  collectNameProblems(label, name, problems);
  if (!semverOf(version)) {
    problems.push(`${displayOf(label, name)}: version ${JSON.stringify(version)} is not a semantic version such as "1.4.0"`);
  }
  if (description !== undefined && typeof description !== 'string') problems.push(`${displayOf(label, name)}: description must be a string`);
  if (allow !== undefined && (!Array.isArray(allow) || !allow.every(isRuleId))) {
    // The value first: a message's quoted names far apart would be read as one long name and shortened.
    const unknown = Array.isArray(allow) ? allow.filter((rule) => !isRuleId(rule)) : allow;
    problems.push(`${displayOf(label, name)}: allow has ${JSON.stringify(unknown)}, which is not a list of safety rules (the rules: ${RULE_IDS.join(', ')})`);
  }
  if (database !== undefined && typeof database !== 'string') problems.push(`${displayOf(label, name)}: database must be an instance name such as "analytics"`);
  if (transaction !== undefined && typeof transaction !== 'boolean') problems.push(`${displayOf(label, name)}: transaction must be true or false`);
  if (foreignKeys !== undefined && foreignKeys !== 'check' && foreignKeys !== 'enforce') {
    problems.push(`${displayOf(label, name)}: foreignKeys must be 'check' or 'enforce'`);
  }
  if (checksum !== undefined && (typeof checksum !== 'string' || checksum.length === 0)) {
    problems.push(`${displayOf(label, name)}: checksum must be a non-empty string`);
  }
  if (typeof (candidate.type.prototype as Partial<MigrationInterface>)?.up !== 'function') {
    problems.push(`${displayOf(label, name)}: has no up(db) method (define up as a method, not as an arrow-function property)`);
  }
  if (!candidate.isSingleton) problems.push(`${displayOf(label, name)}: must be a singleton provider (not request-scoped or transient)`);
}

/** The class and its migration name, for a message: built only when there is something to say. */
function displayOf(label: string, name: unknown): string {
  return typeof name === 'string' ? `${label} ("${name}")` : label;
}

function collectNameProblems(label: string, name: unknown, problems: string[]): void {
  if (typeof name === 'string' && NAME_PATTERN.test(name) && name.length <= MAX_NAME_LENGTH) return;
  problems.push(
    `${label}: name ${JSON.stringify(name)} must start with a numeric or timestamp prefix and use only letters, digits, "_", "-" and "." (for example "001_create_users"), at most ${MAX_NAME_LENGTH} characters`,
  );
}

/** `isSemver`, asked once per distinct version: most migrations of an app share a handful of versions. */
function memoizedIsSemver(): (version: unknown) => boolean {
  const known = new Map<string, boolean>();
  return (version) => {
    if (typeof version !== 'string') return false;
    let valid = known.get(version);
    if (valid === undefined) known.set(version, (valid = isSemver(version)));
    return valid;
  };
}

/** Strict semver, build metadata allowed; no `v` prefix or padding, which semver itself would forgive. */
export function isSemver(version: unknown): version is string {
  return typeof version === 'string' && /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version) && semver.valid(version) !== null;
}

function sqlDefinition(file: SqlMigrationFile): MigrationDefinition {
  return {
    name: file.name,
    version: file.version,
    description: file.description,
    transaction: file.transaction,
    foreignKeys: 'check',
    allow: file.allow ?? [],
    checksum: file.checksum,
    // Hashing the text is already cheap: there is no normalisation to skip.
    sourceHash: null,
    storedSourceHash: null,
    className: file.fileName,
    source: 'sql',
    file: file.label,
    instance: () => file.instance,
  };
}

function rejectDuplicateNames(definitions: readonly MigrationDefinition[]): void {
  // A file is named by its path, so the message says where to look.
  const classesByName = groupBy(
    definitions,
    (d) => d.name,
    (d) => d.file ?? d.className,
  );
  const duplicates = new Map([...classesByName].filter(([, classes]) => classes.length > 1));
  if (duplicates.size > 0) throw new DuplicateMigrationError(duplicates);
}

function rejectMixedPrefixWidths(definitions: readonly MigrationDefinition[]): void {
  const byWidth = groupBy(
    definitions,
    (d) => NAME_PATTERN.exec(d.name)![1].length,
    (d) => d.name,
  );
  if (byWidth.size > 1) throw new MixedPrefixWidthError(new Map([...byWidth].sort(([a], [b]) => a - b)));
}

function groupBy<T, K, V>(items: readonly T[], key: (item: T) => K, value: (item: T) => V): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(value(item));
    else groups.set(k, [value(item)]);
  }
  return groups;
}

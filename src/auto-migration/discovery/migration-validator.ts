import * as semver from 'semver';
import { DuplicateMigrationError } from '../errors/duplicate-migration.error';
import { InvalidMigrationError } from '../errors/invalid-migration.error';
import { MixedPrefixWidthError } from '../errors/mixed-prefix-width.error';
import type { MigrationInterface, MigrationOptions } from '../migration.interface';
import { classFingerprint, classSourceHash } from './migration-checksum';
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
  const unique = [...new Map(candidates.map((c) => [c.type, c])).values()];

  const problems = [
    ...unique.flatMap(definitionProblems),
    ...sql.problems,
    ...sql.files.flatMap((file) => [...nameProblems(file.label, file.name), ...file.problems]),
  ];
  if (problems.length > 0) throw new InvalidMigrationError(problems);

  const definitions = [...unique.map(toDefinition), ...sql.files.map(sqlDefinition)];
  rejectDuplicateNames(definitions);
  rejectMixedPrefixWidths(definitions);
  return definitions.sort((a, b) => compareNames(a.name, b.name));
}

/** Code-unit order, never locale-aware: the order the contract promises. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function definitionProblems(candidate: MigrationCandidate): string[] {
  const label = candidate.type.name || '(anonymous class)';
  const meta = candidate.metadata as Partial<Record<keyof MigrationOptions, unknown>> | null;
  if (typeof meta !== 'object' || meta === null) return [`${label}: @Migration() needs an options object`];

  const { name, version, description, transaction, checksum, foreignKeys } = meta;
  const problems = nameProblems(label, name);
  const display = typeof name === 'string' ? `${label} ("${name}")` : label;
  if (!isSemver(version)) {
    problems.push(`${display}: version ${JSON.stringify(version)} is not a semantic version such as "1.4.0"`);
  }
  if (description !== undefined && typeof description !== 'string') problems.push(`${display}: description must be a string`);
  if (transaction !== undefined && typeof transaction !== 'boolean') problems.push(`${display}: transaction must be true or false`);
  if (foreignKeys !== undefined && foreignKeys !== 'check' && foreignKeys !== 'enforce') {
    problems.push(`${display}: foreignKeys must be 'check' or 'enforce'`);
  }
  if (checksum !== undefined && (typeof checksum !== 'string' || checksum.length === 0)) {
    problems.push(`${display}: checksum must be a non-empty string`);
  }
  if (typeof (candidate.type.prototype as Partial<MigrationInterface>)?.up !== 'function') {
    problems.push(`${display}: has no up(db) method (define up as a method, not as an arrow-function property)`);
  }
  if (!candidate.isSingleton) problems.push(`${display}: must be a singleton provider (not request-scoped or transient)`);
  return problems;
}

function nameProblems(label: string, name: unknown): string[] {
  if (typeof name === 'string' && NAME_PATTERN.test(name) && name.length <= MAX_NAME_LENGTH) return [];
  return [
    `${label}: name ${JSON.stringify(name)} must start with a numeric or timestamp prefix and use only letters, digits, "_", "-" and "." (for example "001_create_users"), at most ${MAX_NAME_LENGTH} characters`,
  ];
}

/** Strict semver, build metadata allowed; no `v` prefix or padding, which semver itself would forgive. */
export function isSemver(version: unknown): version is string {
  return typeof version === 'string' && /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version) && semver.valid(version) !== null;
}

function toDefinition(candidate: MigrationCandidate): MigrationDefinition {
  const meta = candidate.metadata as MigrationOptions;
  const type = candidate.type;
  const explicit = meta.checksum === undefined ? undefined : { checksum: meta.checksum, storedSourceHash: null };
  let fingerprint: { checksum: string; storedSourceHash: string | null } | undefined = explicit;
  let sourceHash: string | null | undefined = explicit ? null : undefined;
  return {
    name: meta.name,
    version: meta.version,
    description: meta.description ?? '',
    transaction: meta.transaction ?? true,
    foreignKeys: meta.foreignKeys ?? 'check',
    // Computed on first use, then kept: a start with nothing pending never pays for them.
    get checksum() {
      return (fingerprint ??= classFingerprint(type)).checksum;
    },
    get sourceHash() {
      return sourceHash === undefined ? (sourceHash = classSourceHash(type)) : sourceHash;
    },
    get storedSourceHash() {
      return (fingerprint ??= classFingerprint(type)).storedSourceHash;
    },
    className: candidate.type.name,
    source: 'class',
    instance: () => candidate.instance() as MigrationInterface,
  };
}

function sqlDefinition(file: SqlMigrationFile): MigrationDefinition {
  return {
    name: file.name,
    version: file.version,
    description: file.description,
    transaction: file.transaction,
    foreignKeys: 'check',
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

import { usageError } from '../cli-error';

/**
 * The name part of a new migration, snake-cased: `AddTags`, `add-tags` and `add tags` all give
 * `add_tags`. Only ASCII letters, digits and `_` remain, which the library's name rule accepts.
 * A name that already carries a numeric prefix is refused: `create` numbers it.
 */
export function migrationSlug(raw: string): string {
  if (/^\d+[_.-]/.test(raw.trim())) {
    throw usageError(`create: give the name without a prefix ("${raw.trim().replace(/^\d+[_.-]+/, '')}"): create numbers it`, 'create');
  }
  const slug = raw
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (slug === '') throw usageError(`create: the name "${raw}" has no letters or digits to build a file name from`, 'create');
  return slug;
}

/** The class of a new migration: `add_tags` gives `AddTags` (prefixed when it would start with a digit). */
export function migrationClassName(slug: string): string {
  const pascal = slug
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  return /^\d/.test(pascal) ? `Migration${pascal}` : pascal;
}

/** Longest migration name (or other user-given name) an error message repeats in full. */
const MAX_SHOWN = 120;

/**
 * A name as error messages quote it: in full up to 120 characters, else its start and its length,
 * so that a runaway name cannot bury the advice. The error's `migration` field keeps it whole.
 */
export function displayName(name: string): string {
  return name.length <= MAX_SHOWN ? name : `${name.slice(0, MAX_SHOWN)}…(${name.length} characters)`;
}

/** `displayName` in double quotes, as the messages quote names. */
export function quoted(name: string): string {
  return `"${displayName(name)}"`;
}

/**
 * Shortens, inside a line built elsewhere (a validation problem), every double-quoted string and
 * every bare name (a class name) longer than the limit. Paths (with "/") are left whole.
 */
export function shortenNames(text: string): string {
  return text.replace(/"((?:[^"\\]|\\.){121,})"|[\w.-]{121,}/g, (match: string, inner?: string) => (inner === undefined ? displayName(match) : quoted(inner)));
}

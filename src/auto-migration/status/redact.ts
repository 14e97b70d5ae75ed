/**
 * Removes file paths from a message bound for the status document: the status is served over
 * HTTP and must not reveal where the database lives.
 */
export function redactPaths(message: string, knownPaths: readonly string[]): string {
  let result = message;
  for (const path of [...knownPaths, process.cwd()].filter((p) => p.length > 1).sort((a, b) => b.length - a.length)) {
    result = result.split(path).join('<path>');
  }
  // Any other absolute path of two segments or more, POSIX or Windows, where it starts a token
  // (so `6/2/1` and URLs stay as they are).
  return result.replace(/(?<=^|[\s"'`(=,[])(?:[A-Za-z]:)?(?:[\\/][^\s\\/"'`<>|:*?]+){2,}[\\/]?/g, '<path>');
}

/** Takes every secret of the options (connection strings, passwords) out of a message, longest first. */
export function redactSecrets(message: string, secrets: readonly string[]): string {
  let result = message;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join('<redacted>');
  return result;
}

/** A message as the status document may show it: no secret of the options, no file path. */
export function redactForStatus(message: string, options: { readonly database: string; readonly secrets: readonly string[] }): string {
  return redactPaths(redactSecrets(message, options.secrets), [options.database]);
}

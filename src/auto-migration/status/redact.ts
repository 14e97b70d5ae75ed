/**
 * Removes file paths from a message bound for the status document: the status is served over
 * HTTP and must not reveal where the database lives.
 */
export function redactPaths(message: string, knownPaths: readonly string[]): string {
  let result = message;
  for (const path of knownPaths) if (path) result = result.split(path).join('<path>');
  // Any other absolute path (two segments or more), POSIX or Windows.
  return result.replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@~-]+){2,}[\\/]?/g, '<path>');
}

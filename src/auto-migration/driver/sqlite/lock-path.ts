import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The sidecar lock file of a database: `<database>.migration-lock`, next to the real file. Links
 * are resolved first, so two processes that reach one database through different paths (a
 * symlinked data folder, say) still share one lock.
 */
export function lockPathFor(database: string): string {
  const folder = dirname(database);
  const real = existsSync(database) ? realpathSync(database) : join(existsSync(folder) ? realpathSync(folder) : folder, basename(database));
  return `${real}.migration-lock`;
}

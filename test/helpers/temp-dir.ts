import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the OS temp dir; call `remove()` in afterEach. */
export function tempDir(prefix = 'auto-migration-'): { path: string; file(name: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A fresh temp folder and database path for each test of the calling `describe`, removed after
 * it. Read `t.dir` and `t.db` inside tests (they change per test).
 */
export function useTempDatabase(): { readonly dir: ReturnType<typeof tempDir>; readonly db: string } {
  const current = {} as { dir: ReturnType<typeof tempDir>; db: string };
  beforeEach(() => {
    current.dir = tempDir();
    current.db = current.dir.file('app.db');
  });
  afterEach(() => current.dir.remove());
  return current;
}

/** How the module names a backup of `app.db`. */
export const BACKUP_NAME = /^app\.db\.\d{8}T\d{9}Z\.[A-Za-z0-9_.-]+\.backup$/;

/** The backups of `app.db` in `folder`, oldest first; none when the folder does not exist. */
export function backupFilesIn(folder: string): string[] {
  return existsSync(folder)
    ? readdirSync(folder)
        .filter((f) => BACKUP_NAME.test(f))
        .sort()
    : [];
}

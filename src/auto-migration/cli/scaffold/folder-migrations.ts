import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli-error';
import { isMigrationFile, type KnownMigration } from './next-prefix';

/**
 * The migration files of a folder `create` reads but does not write in (the other of `classesDir`
 * and `sqlDir`, the module's `migrationsDir`): none when the folder does not exist, which is not
 * created here. `where` names the folder in messages.
 */
export function folderMigrations(dir: string, where: string): KnownMigration[] {
  let files: string[];
  try {
    files = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => entry.name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new CliError('CREATE_REFUSED', `cannot read the migrations folder ${dir} to number the new migration: ${(error as Error).message}`, { cause: error });
  }
  return files.filter(isMigrationFile).map((name) => ({ name, where, path: join(dir, name) }));
}

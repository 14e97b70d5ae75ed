import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';

/** Creates the folder (and missing parents) readable by its owner only. */
export function makePrivateFolder(folder: string): void {
  const created = mkdirSync(folder, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; a folder we created must be 0700 whatever it is.
  if (created !== undefined) chmodSync(folder, 0o700);
}

/** Flushes a file or folder to disk, so a rename that follows survives a power cut. */
export function flush(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

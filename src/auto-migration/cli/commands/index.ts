import type { CliCommand } from '../command';
import { archiveCommand } from './archive';
import { backupCommand } from './backup';
import { baselineCommand } from './baseline';
import { createCommand } from './create';
import { downCommand } from './down';
import { lintCommand } from './lint';
import { repairCommand } from './repair';
import { resolveCommand } from './resolve';
import { restoreCommand } from './restore';
import { statusCommand } from './status';
import { unlockCommand } from './unlock';
import { upCommand } from './up';

/** Every command, in the order the overview lists them. */
export const COMMANDS: readonly CliCommand[] = [
  statusCommand,
  upCommand,
  lintCommand,
  downCommand,
  createCommand,
  resolveCommand,
  repairCommand,
  backupCommand,
  restoreCommand,
  archiveCommand,
  unlockCommand,
  baselineCommand,
];

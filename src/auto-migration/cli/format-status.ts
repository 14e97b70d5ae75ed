import type { MigrationLockStatus, MigrationStatus, MigrationStatusError } from '../status/migration-status.interface';
import { formatBytes, plural, table } from './text';
import { oneLine } from './format-error';

/** Where the lists would be when the history could not be read at all: unknown, never "none". */
const NOT_READABLE = 'not readable right now';

/**
 * `nest-auto-migration status` without `--json`: the state, then applied, pending and unknown
 * migrations as tables, the lock and the last backup. The same facts as the JSON, for people.
 */
export function formatStatus(status: MigrationStatus): string {
  const lines = [`State: ${status.state}${stateNote(status)}`];
  const history = historyNote(status);
  if (history) lines.push(history);

  if (status.historyReadAt === null) {
    lines.push('', `Applied: ${NOT_READABLE}`, `Pending: ${NOT_READABLE}`);
  } else {
    lines.push(...historyTables(status));
  }

  lines.push('', `Lock: ${formatLock(status.lock)}`);
  const backup = status.lastBackup;
  lines.push(`Last backup: ${backup ? `${backup.file} (${formatBytes(backup.sizeBytes)}, ${backup.createdAt})` : 'none'}`);
  if (status.lastError) {
    const { code, migration, message } = status.lastError;
    lines.push('', `Last error: ${code}${migration ? ` (${migration})` : ''}`);
    lines.push(...message.split(/\r?\n/).map((line) => `  ${line.trim()}`));
    const next = nextStep(status.lastError, status);
    if (next) lines.push(`  With the command line: ${next}`);
  }
  return lines.join('\n');
}

/** Applied, pending and unknown migrations, as last read. */
function historyTables(status: MigrationStatus): string[] {
  const lines = ['', `Applied (${status.applied.length})`];
  if (status.applied.length === 0) lines.push('  none');
  else {
    lines.push(
      ...table(
        ['NAME', 'VERSION', 'APPLIED AT', 'TIME', ''],
        status.applied.map((m) => [m.name, m.version, m.appliedAt, `${m.executionTimeMs} ms`, m.archived ? 'archived' : '']),
      ),
    );
  }

  lines.push('', `Pending (${status.pending.length})`);
  if (status.pending.length === 0) lines.push('  none');
  else
    lines.push(
      ...table(
        ['NAME', 'VERSION', 'DESCRIPTION'],
        status.pending.map((m) => [m.name, m.version, m.description]),
      ),
    );

  if (status.unknown.length > 0) {
    lines.push('', `Unknown to this code (${status.unknown.length}): applied by a newer release; they count as applied`);
    lines.push(
      ...table(
        ['NAME', 'VERSION', 'APPLIED AT'],
        status.unknown.map((m) => [m.name, m.version, m.appliedAt]),
      ),
    );
  }
  return lines;
}

function stateNote(status: MigrationStatus): string {
  if (status.state === 'running' && status.lock.held) return ' (another process holds the migration lock: see "Lock" below)';
  if (status.state === 'pending' && status.historyReadAt === null) return ' (the migration history is not readable right now: see "History" below)';
  if (status.state === 'pending') return ` (${plural(status.pending.length, 'migration')} to apply: run \`${command(status, 'up')}\`)`;
  if (status.state === 'failed' && status.lastError) return ` (${status.lastError.code}: see "Last error" below)`;
  return '';
}

/**
 * Said only when the lists are not the database as it is now: as last read, or unknown when never
 * read. Why: another process's commit locks readers out for a moment, unless a failure says otherwise.
 */
function historyNote(status: MigrationStatus): string | null {
  if (!status.historyStale && status.historyReadAt !== null) return null;
  const why =
    status.state === 'failed'
      ? 'see "Last error" below'
      : status.historyError
        ? `it could not be read now: ${oneLine(status.historyError)}`
        : "another process's commit locks the database right now";
  return status.historyReadAt === null ? `History: ${NOT_READABLE} (${why})` : `History: as read at ${status.historyReadAt} (${why})`;
}

/** The command that settles the failures the library's messages explain in terms of the service. */
function nextStep(error: MigrationStatusError, status: MigrationStatus): string | null {
  switch (error.code) {
    case 'INTERRUPTED_MIGRATION':
      return `\`${command(status, `resolve ${error.migration ?? 'NAME'}`)} --applied\` if all its changes are in place, \`--rolled-back\` if none are.`;
    case 'CHECKSUM_MISMATCH':
      return `\`${command(status, 'repair')}\` accepts the current checksums, once you have checked that no migration's meaning changed.`;
    default:
      return null;
  }
}

function formatLock(lock: MigrationLockStatus): string {
  if (!lock.held) return 'free';
  const owner = lock.owner ? `${lock.owner.host}/${lock.owner.pid} (instance ${lock.owner.instanceId})` : 'a process that has not written the lease row yet';
  const details = [
    lock.since ? `since ${lock.since}` : null,
    lock.heartbeatAt ? `heartbeat ${lock.heartbeatAt}` : null,
    lock.current ? `running ${lock.current}` : null,
    lock.suspect ? 'heartbeat older than lock.staleAfterMs: alive, maybe inside a long statement' : null,
  ].filter((d): d is string => d !== null);
  return `held by ${owner}${details.length > 0 ? `, ${details.join(', ')}` : ''}`;
}

/**
 * A command for the instance this status is of: a named instance's needs `--database`, or the
 * operator would act on the default instance.
 */
export function command(status: MigrationStatus, what: string): string {
  return `nest-auto-migration ${what}${status.database ? ` --database ${status.database}` : ''}`;
}

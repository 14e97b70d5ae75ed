import { formatStatus } from '../../src/auto-migration/cli/format-status';
import type { MigrationStatus } from '../../src/auto-migration/status/migration-status.interface';

/*
 * The human `status` while another process works: the state says why it is running, and lists
 * that are not the database as it is now say so (as last read, or unknown), never "none".
 */

const READ_AT = '2026-01-02T03:04:05.678Z';

function status(extra: Partial<MigrationStatus> = {}): MigrationStatus {
  return {
    state: 'up-to-date',
    applied: [{ name: '001_a', version: '1.0.0', description: '', checksum: 'x', appliedAt: READ_AT, executionTimeMs: 3, archived: false }],
    pending: [],
    unknown: [],
    lastError: null,
    lock: { held: false, owner: null, since: null, heartbeatAt: null, current: null, suspect: false },
    lastBackup: null,
    historyReadAt: READ_AT,
    historyStale: false,
    historyError: null,
    ...extra,
  };
}

const heldLock = { held: true, owner: { host: 'web-1', pid: 4242, instanceId: 'abc' }, since: READ_AT, heartbeatAt: READ_AT, current: null, suspect: false };

describe('formatStatus', () => {
  it('running while another process holds the lock: says so and points at the lock line', () => {
    const text = formatStatus(status({ state: 'running', pending: [{ name: '002_b', version: '1.1.0', description: '' }], lock: heldLock }));
    expect(text).toMatch(/^State: running \(another process holds the migration lock: see "Lock" below\)$/m);
    expect(text).toMatch(/^Lock: held by web-1\/4242 \(instance abc\)/m);
    // The history was read just now: no note about it.
    expect(text).not.toMatch(/^History:/m);
  });

  it('a stale history: the lists are shown as of when they were read, and said to be', () => {
    const text = formatStatus(status({ state: 'running', lock: heldLock, historyStale: true }));
    expect(text).toMatch(new RegExp(`^History: as read at ${READ_AT} \\(another process's commit locks the database right now\\)$`, 'm'));
    expect(text).toMatch(/^Applied \(1\)$/m);
    expect(text).toMatch(/^ {2}001_a +1\.0\.0 /m);
  });

  it('a history never read: applied and pending are unknown ("not readable right now"), not "none"', () => {
    const text = formatStatus(status({ state: 'running', lock: heldLock, applied: [], historyReadAt: null, historyStale: true }));
    expect(text).toMatch(/^History: not readable right now \(another process's commit locks the database right now\)$/m);
    expect(text).toMatch(/^Applied: not readable right now$/m);
    expect(text).toMatch(/^Pending: not readable right now$/m);
    expect(text).not.toMatch(/^ {2}none$/m);
    expect(text).not.toMatch(/^(Applied|Pending) \(0\)$/m);
  });

  it('a history never read, lock free (state pending): no "0 migrations to apply"', () => {
    const text = formatStatus(status({ state: 'pending', applied: [], historyReadAt: null, historyStale: true }));
    expect(text).toMatch(/^State: pending \(the migration history is not readable right now: see "History" below\)$/m);
    expect(text).not.toContain('0 migrations to apply');
  });

  it('a failed state whose history was not readable blames the error, not another process', () => {
    const lastError = {
      code: 'DATABASE_OPERATION_FAILED',
      migration: null,
      message: 'Could not read the migration history: database disk image is malformed.',
    };
    const text = formatStatus(status({ state: 'failed', lastError, applied: [], historyReadAt: null, historyStale: true }));
    expect(text).toMatch(/^History: not readable right now \(see "Last error" below\)$/m);
    expect(text).not.toContain("another process's commit");
  });

  it('an up-to-date status read just now is as before: tables, "none" for an empty list', () => {
    const text = formatStatus(status());
    expect(text).toMatch(/^State: up-to-date$/m);
    expect(text).toMatch(/^Pending \(0\)\n {2}none$/m);
    expect(text).not.toMatch(/^History:/m);
  });

  it('a re-read that failed for another reason than a lock says what it was, not that a commit locks the database', () => {
    const text = formatStatus(
      status({
        state: 'pending',
        historyStale: true,
        historyError: 'database disk image is malformed',
        pending: [{ name: '002_b', version: '1.1.0', description: '' }],
      }),
    );
    expect(text).toContain(`History: as read at ${READ_AT} (it could not be read now: database disk image is malformed)`);
    expect(text).not.toContain('locks the database');
  });

  it("names a named instance in the commands it suggests, and only a named one's", () => {
    const pending = { state: 'pending' as const, pending: [{ name: '002_b', version: '1.1.0', description: '' }] };
    expect(formatStatus(status({ ...pending, database: 'analytics' }))).toMatch(
      /^State: pending \(1 migration to apply: run `nest-auto-migration up --database analytics`\)$/m,
    );
    expect(formatStatus(status(pending))).toMatch(/^State: pending \(1 migration to apply: run `nest-auto-migration up`\)$/m);
  });
});

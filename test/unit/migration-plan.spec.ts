import { Logger } from '@nestjs/common';
import type { MigrationDefinition } from '../../src/auto-migration/discovery/migration-definition';
import type { AttemptRecord, HistoryRecord } from '../../src/auto-migration/driver/history-store';
import { ChecksumMismatchError } from '../../src/auto-migration/errors/checksum-mismatch.error';
import { InterruptedMigrationError } from '../../src/auto-migration/errors/interrupted-migration.error';
import { OutOfOrderMigrationError } from '../../src/auto-migration/errors/out-of-order-migration.error';
import { UnknownMigrationError } from '../../src/auto-migration/errors/unknown-migration.error';
import type { LockHolder } from '../../src/auto-migration/lock/lock-holder';
import { MigrationPlan, type PlanOptions } from '../../src/auto-migration/runner/migration-plan';

function def(name: string, checksum = `sum-${name}`): MigrationDefinition {
  return {
    name,
    version: '1.0.0',
    description: '',
    transaction: true,
    foreignKeys: 'check',
    checksum,
    sourceHash: null,
    storedSourceHash: null,
    className: name,
    instance: () => ({ up: () => undefined }),
  };
}

function row(name: string, checksum = `sum-${name}`): HistoryRecord {
  return { name, version: '1.0.0', description: '', checksum, sourceHash: null, appliedAt: '2026-01-01T00:00:00.000Z', executionTimeMs: 1 };
}

function attempt(name: string, failedAt: string | null = null, pid = 42): AttemptRecord {
  return {
    name,
    version: '1.0.0',
    startedAt: '2026-01-01T00:00:00.000Z',
    failedAt,
    error: failedAt && 'boom',
    owner: { host: 'h', pid, instanceId: 'abcd1234' },
  };
}

const code = [def('001_a'), def('002_b'), def('003_c'), def('004_d')];
const plan = (options: Partial<PlanOptions> = {}) => new MigrationPlan({ validateChecksums: true, allowOutOfOrder: false, ...options }, code);
const names = (migrations: readonly MigrationDefinition[]) => migrations.map((m) => m.name);

describe('MigrationPlan', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('pending: what the history lacks, in code order, up to a limit; position of a name, or UnknownMigrationError', () => {
    const p = plan();
    expect(names(p.pendingAfter([]))).toEqual(['001_a', '002_b', '003_c', '004_d']);
    expect(names(p.pendingAfter([row('001_a'), row('003_c')]))).toEqual(['002_b', '004_d']);
    expect(names(p.pendingAfter([row('001_a')], p.positionOf('003_c')))).toEqual(['002_b', '003_c']);
    expect(p.names()).toEqual(['001_a', '002_b', '003_c', '004_d']);
    expect(() => p.positionOf('009_missing')).toThrow(UnknownMigrationError);
  });

  it('preflight: interrupted attempts refused first, then a pending migration older than the newest applied one, unless allowOutOfOrder', () => {
    const history = [row('001_a'), row('003_c')];
    expect(() => plan().preflight(history, [attempt('002_b')])).toThrow(InterruptedMigrationError);
    expect(() => plan().preflight(history, [])).toThrow(OutOfOrderMigrationError);
    expect(names(plan({ allowOutOfOrder: true }).preflight(history, []))).toEqual(['002_b', '004_d']);
    expect(names(plan().preflight([row('001_a')], [], 1))).toEqual(['002_b']);
  });

  it('checksums: a changed one throws with validateChecksums true, warns once with "warn", is ignored with false; archived rows are settled', () => {
    const changed = [row('001_a', 'old')];
    expect(() => plan().validateChecksums(changed)).toThrow(ChecksumMismatchError);
    expect(() => plan().validateChecksums([{ ...changed[0], archived: true }])).not.toThrow();

    const warning = plan({ validateChecksums: 'warn' });
    warning.validateChecksums(changed);
    warning.accept(changed);
    expect(warn.mock.calls.filter(([message]) => String(message).includes('001_a'))).toHaveLength(1);

    warn.mockClear();
    plan({ validateChecksums: false }).validateChecksums(changed);
    expect(warn).not.toHaveBeenCalled();
  });

  it('applied migrations the code lacks are reported once, however often the history is accepted', () => {
    const p = plan();
    const history = [row('001_a'), row('005_newer_release')];
    p.accept(history);
    p.accept(history);
    const reports = warn.mock.calls.filter(([message]) => String(message).includes('005_newer_release'));
    expect(reports).toHaveLength(1);
    expect(String(reports[0][0])).toContain('not in this code');
  });

  it('interrupted: while holding the lock every attempt but the running one; otherwise the lock holder decides', () => {
    const p = plan();
    const mine = attempt('002_b');
    const failed = attempt('003_c', '2026-01-01T00:00:01.000Z');
    expect(p.interrupted([mine, failed], { holding: true, running: '002_b' })).toEqual([failed]);
    expect(p.interrupted([mine, failed], { holding: true })).toEqual([mine, failed]);

    const holder: LockHolder = { owner: mine.owner, heldForMs: 10, since: null, heartbeatAt: null, current: null, suspect: false };
    expect(p.interrupted([mine, failed], { holding: false, holder })).toEqual([failed]);
    expect(p.interrupted([mine, failed], { holding: false, holder: null })).toEqual([mine, failed]);
  });
});

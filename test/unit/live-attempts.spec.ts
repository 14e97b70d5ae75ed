import type { AttemptRecord } from '../../src/auto-migration/driver/history-store';
import type { LockOwner } from '../../src/auto-migration/driver/lease-store';
import { interruptedAttempts } from '../../src/auto-migration/lock/live-attempts';
import type { LockHolder } from '../../src/auto-migration/lock/lock-holder';

describe('interruptedAttempts', () => {
  it('a failed attempt is interrupted whoever holds the lock; one without a failure is running while its owner holds it', () => {
    const owner: LockOwner = { host: 'h', pid: 42, instanceId: 'abcd1234' };
    const holder: LockHolder = { owner, heldForMs: 10, since: null, heartbeatAt: null, current: null, suspect: false };
    const attempt = (name: string, failedAt: string | null): AttemptRecord => ({
      name,
      version: '1.0.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      failedAt,
      error: failedAt && 'boom',
      owner,
    });
    const failed = attempt('002_failed', '2026-01-01T00:00:01.000Z');
    const running = attempt('003_running', null);

    expect(interruptedAttempts([failed, running], holder)).toEqual([failed]);
    expect(interruptedAttempts([failed, running], { ...holder, owner: null })).toEqual([failed]);
    expect(interruptedAttempts([failed, running], null)).toEqual([failed, running]);
  });
});

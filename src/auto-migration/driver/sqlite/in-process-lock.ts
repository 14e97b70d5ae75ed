import type { LockHolderNote, LockRequest, MigrationLock } from '../migration-lock';

/**
 * Lock for `:memory:` databases: such a database lives inside one connection of one process,
 * so no other process can migrate it and there is nothing to exclude.
 */
export class InProcessLock implements MigrationLock {
  private note: LockHolderNote | null = null;

  acquire({ owner }: LockRequest): Promise<boolean> {
    this.note = { owner, since: new Date().toISOString() };
    return Promise.resolve(true);
  }

  release(): Promise<void> {
    this.note = null;
    return Promise.resolve();
  }

  isHeld(): Promise<boolean> {
    return Promise.resolve(this.note !== null);
  }

  holder(): LockHolderNote | null {
    return this.note;
  }
}

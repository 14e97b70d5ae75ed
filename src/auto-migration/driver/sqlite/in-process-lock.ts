import type { MigrationLock } from '../driver/migration-driver';

/**
 * Lock for `:memory:` databases: such a database lives inside one connection of one process,
 * so no other process can migrate it and there is nothing to exclude.
 */
export class InProcessLock implements MigrationLock {
  private held = false;

  acquire(): Promise<boolean> {
    this.held = true;
    return Promise.resolve(true);
  }

  release(): void {
    this.held = false;
  }

  isHeld(): boolean {
    return this.held;
  }
}

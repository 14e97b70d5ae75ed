import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_OPTIONS } from '../auto-migration.constants';
import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { describeHolder } from '../lock/lock-holder';
import type { MigrationEvent } from './migration-event';
import { MigrationEvents } from './migration-events';
import { MigrationLogger } from '../logging/migration-logger';

/** Writes the run's log from its events, so the log and `events$` always tell the same story. */
@Injectable()
export class MigrationEventLogger {
  constructor(
    events: MigrationEvents,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAutoMigrationOptions,
    private readonly logger: MigrationLogger,
  ) {
    events.events$.subscribe((event) => this.log(event));
  }

  private log(event: MigrationEvent): void {
    switch (event.type) {
      case 'lock-waiting': {
        const suspect = event.holder?.suspect
          ? ` Its heartbeat is older than lock.staleAfterMs (${this.options.lock.staleAfterMs} ms): it is alive (it holds the lock) but may be in a long statement.`
          : '';
        return this.logger.log(`Migration lock held by ${describeHolder(event.holder)}; waiting up to ${event.timeoutMs} ms.${suspect}`);
      }
      case 'lock-acquired':
        if (event.waitedMs > 0) this.logger.log(`Took the migration lock after waiting ${event.waitedMs} ms`);
        return;
      case 'backup-written':
        if (event.reused) {
          return this.logger.log(
            `Backup reused: ${event.file} already holds this state (the newest backup, byte for byte); no new copy written (checked in ${event.durationMs} ms)`,
          );
        }
        return this.logger.log(
          `Backup written: ${event.file} (${(event.sizeBytes / 1024).toFixed(1)} KiB, ${event.check} in ${event.verifyMs} of ${event.durationMs} ms)`,
        );
      case 'run-started':
        return this.logger.log(`${event.pending} pending migration${event.pending === 1 ? '' : 's'} (transactionMode "${event.transactionMode}")`);
      case 'migration-applied':
        return this.logger.log(`[${event.index}/${event.total}] ${event.name} (${event.executionTimeMs} ms)`);
      case 'run-finished':
        if (event.error) return this.logger.error(event.error.message, event.error.stack);
        if (event.applied === 0) return this.logger.log(`Schema up to date (${event.total} applied, nothing pending)`);
        return this.logger.log(`Applied ${event.applied} migration${event.applied === 1 ? '' : 's'} in ${event.durationMs} ms; schema up to date`);
      default:
        return;
    }
  }
}

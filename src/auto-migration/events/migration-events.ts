import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Observable, Subject } from 'rxjs';
import type { MigrationEvent, MigrationEventInput } from './migration-event';

/** The event stream of this module instance. The runner emits; the log and subscribers listen. */
@Injectable()
export class MigrationEvents implements OnModuleDestroy {
  private readonly subject = new Subject<MigrationEvent>();
  readonly events$: Observable<MigrationEvent> = this.subject.asObservable();

  emit(event: MigrationEventInput): void {
    this.subject.next({ ...event, at: new Date().toISOString() } as MigrationEvent);
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }
}

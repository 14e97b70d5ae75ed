import { Injectable } from '@nestjs/common';
import { type Observable, Subject } from 'rxjs';
import type { MigrationEvent, MigrationEventInput } from './migration-event';

/** The event stream of this module instance. The runner emits; the log and subscribers listen. */
@Injectable()
export class MigrationEvents {
  private readonly subject = new Subject<MigrationEvent>();
  readonly events$: Observable<MigrationEvent> = this.subject.asObservable();

  emit(event: MigrationEventInput): void {
    this.subject.next({ ...event, at: new Date().toISOString() });
  }

  /** Ends the stream; called last on shutdown, once no run can emit any more. */
  complete(): void {
    this.subject.complete();
  }
}

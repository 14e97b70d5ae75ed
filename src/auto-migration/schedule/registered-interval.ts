import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * An unref()'d interval registered in @nestjs/schedule's SchedulerRegistry under `name`: the
 * app's registry when it imports ScheduleModule.forRoot() (so the interval is visible there), a
 * private one otherwise. `stop()` is safe to call twice, and after @nestjs/schedule has deleted
 * every interval itself in beforeApplicationShutdown.
 */
export class RegisteredInterval {
  private readonly registry: SchedulerRegistry;

  constructor(
    private readonly name: string,
    registry?: SchedulerRegistry,
  ) {
    this.registry = registry ?? new SchedulerRegistry();
  }

  start(tick: () => void, periodMs: number): void {
    const timer = setInterval(tick, periodMs);
    timer.unref();
    this.registry.addInterval(this.name, timer);
  }

  stop(): void {
    if (!this.registry.doesExist('interval', this.name)) return;
    clearInterval(this.registry.getInterval(this.name) as NodeJS.Timeout);
    this.registry.deleteInterval(this.name);
  }
}

import { ConsoleLogger, Injectable } from '@nestjs/common';

/**
 * Terminus logs every failed health check as an ERROR line, so a readiness probe polled every
 * second during a long migration writes one ERROR a second for something that is going as
 * planned. This logger writes such a failure as a warning when the only indicator down is the
 * migrations one in state `pending` or `running`; anything else (a failed migration, another
 * indicator down) stays an error. Use it with `TerminusModule.forRoot({ logger: HealthLogger })`.
 */
@Injectable()
export class HealthLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (typeof message === 'string' && onlyMigrationsInProgress(message)) return this.warn(message);
    super.error(message, ...rest);
  }
}

/** Terminus's default (JSON) error message: `Health Check has failed! {"<key>":{"status":"down",...},...}`. */
function onlyMigrationsInProgress(message: string): boolean {
  try {
    const causes = JSON.parse(message.slice(message.indexOf('{'))) as Record<string, { status?: string; state?: string }>;
    const down = Object.entries(causes).filter(([, cause]) => cause.status === 'down');
    return down.length === 1 && down[0][0] === 'migrations' && (down[0][1].state === 'pending' || down[0][1].state === 'running');
  } catch {
    return false;
  }
}

import { compareNames } from '../discovery/migration-validator';
import type { HistoryRecord } from '../driver/migration-driver';

/** The newest migration in a history, by name order (the order they apply in); null when empty. */
export function newestOf(history: readonly HistoryRecord[]): string | null {
  return history.reduce<string | null>((newest, h) => (newest === null || compareNames(h.name, newest) > 0 ? h.name : newest), null);
}

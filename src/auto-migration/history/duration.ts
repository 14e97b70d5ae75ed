const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds from a number of milliseconds, or from a number with a unit: `0s`, `90s`, `30m`,
 * `12h`, `365d`. Null for anything else.
 */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  return match ? Number(match[1]) * UNITS[match[2]] : null;
}

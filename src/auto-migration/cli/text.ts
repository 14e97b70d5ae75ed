/** Small text helpers for the command line's human-readable output. */

/** Rows under a header, columns padded to their widest cell, indented by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (cells: readonly string[]) =>
    `  ${cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ')}`.trimEnd();
  return [render(header), ...rows.map(render)];
}

/** `1 migration`, `3 migrations`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `512 B`, `12.0 KiB`, `3.4 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A flag's value in a message: a number as typed (`got -1`), anything else quoted (`got "5w"`). */
export function shownValue(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : JSON.stringify(value);
}

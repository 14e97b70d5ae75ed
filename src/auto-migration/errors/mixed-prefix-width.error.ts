import { AutoMigrationError } from './auto-migration.error';
import { displayName } from './display-name';

/**
 * Migration names use numeric prefixes of different widths (`2_x` beside `10_y`), which would
 * not sort in the order they were written. Raised before the database is touched.
 */
export class MixedPrefixWidthError extends AutoMigrationError {
  readonly code = 'MIXED_PREFIX_WIDTH';

  constructor(
    /** The migration names by the width of their numeric prefix, narrowest first. */
    readonly byWidth: ReadonlyMap<number, readonly string[]>,
  ) {
    const lines = [...byWidth].map(([width, names]) => `  - ${width} digit${width === 1 ? '' : 's'}: ${names.map(displayName).join(', ')}`);
    super(
      `Migration name prefixes have different widths, so they would apply in the wrong order:\n${lines.join('\n')}\n` +
        'Pad every numeric prefix to the same width (for example 002_x and 010_y); the database was not touched.',
    );
  }
}

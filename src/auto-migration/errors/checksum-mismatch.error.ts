import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** One applied migration whose code changed since it was applied. */
export interface ChecksumMismatch {
  /** The migration's name. */
  readonly migration: string;
  /** The checksum its history row holds: the code it was applied with. */
  readonly stored: string;
  /** The checksum of the code here. */
  readonly current: string;
}

/**
 * Applied migrations changed since they ran: the database was built by other code than the code
 * here. Raised before anything is applied, whatever `failOnError` says.
 */
export class ChecksumMismatchError extends AutoMigrationError {
  readonly code = 'CHECKSUM_MISMATCH';

  constructor(
    /** Every applied migration whose code changed, not only the first. */
    readonly mismatches: readonly ChecksumMismatch[],
  ) {
    const lines = mismatches.map((m) => `  - ${quoted(m.migration)}: stored ${m.stored}, current ${m.current}`);
    super(
      `Applied migration${mismatches.length === 1 ? '' : 's'} changed since ${mismatches.length === 1 ? 'it was' : 'they were'} applied:\n${lines.join('\n')}\n` +
        'Never edit an applied migration: revert the change and add a new migration instead. If only formatting moved, or the ' +
        'TypeScript version or build tool changed the compiled code (derived checksums can move then), accept the current checksums ' +
        "with AutoMigrationService.repair(), or pin them with checksum: '...' in the decorator. validateChecksums: 'warn' logs instead of failing.",
      { migration: mismatches[0]?.migration },
    );
  }
}

import { AutoMigrationError } from './auto-migration.error';
import { quoted } from './display-name';

/** A revert would pass migrations that cannot be reverted; nothing was reverted. */
export class MissingDownError extends AutoMigrationError {
  readonly code = 'MISSING_DOWN';

  /**
   * @internal Only the module raises it.
   * @param problems one entry per migration: its name and why it cannot be reverted
   */
  constructor(problems: readonly { migration: string; reason: string }[]) {
    super(
      `Cannot revert: ${problems.map((p) => `${quoted(p.migration)} ${p.reason}`).join('; ')}. Nothing was reverted. ` +
        'Add a down() (or a .down.sql file) to each, or revert fewer steps.',
      { migration: problems[0]?.migration },
    );
  }
}

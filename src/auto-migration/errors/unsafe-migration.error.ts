import { AutoMigrationError } from './auto-migration.error';
import type { Finding } from '../safety/finding';

/**
 * With `safety: 'refuse'`: the safety analysis found an error-level finding no migration
 * accepts, so nothing was applied (the analysis ran on a rehearsal; the database is unchanged).
 */
export class UnsafeMigrationError extends AutoMigrationError {
  readonly code = 'UNSAFE_MIGRATION';

  constructor(
    /** Every finding of the analysis, accepted and warning-level ones included; the blocking ones are the unaccepted errors. */
    readonly findings: readonly Finding[],
  ) {
    const blocking = findings.filter((f) => f.level === 'error' && !f.accepted);
    const first = blocking[0];
    super(
      `The safety analysis refused ${blocking.length === 1 ? 'a change' : `${blocking.length} changes`} of the pending migrations (safety: 'refuse'); nothing was applied:\n` +
        blocking.map((f) => `  - ${f.migration}: ${f.rule} on ${f.object}: ${f.message}. Safe pattern: ${f.safePattern}`).join('\n') +
        `\nMake the change the safe way, or accept it in the migration if you mean it (allow: ['${first?.rule ?? 'rule'}'] in @Migration(), ` +
        `or "-- allow: ${first?.rule ?? 'rule'}" in a SQL file's header); \`npx nest-auto-migration lint\` shows every finding.`,
      { migration: first?.migration },
    );
  }
}

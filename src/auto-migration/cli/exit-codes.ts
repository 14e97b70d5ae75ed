/**
 * Exit codes of `nest-auto-migration`, as the contract fixes them. Scripts and deployment jobs
 * branch on these, so they never change meaning.
 */
export const ExitCode = {
  /** The command did what it was asked (for `status`: the schema is up to date). */
  Ok: 0,
  /** `status` only: migrations are pending (or a run is in progress elsewhere in this process). */
  Pending: 1,
  /** `lint` only: an error-level finding is not accepted. */
  Unsafe: 1,
  /** Anything else: bad flags, a module that cannot be loaded, a refused command, a failed state, a failed rehearsal. */
  Error: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

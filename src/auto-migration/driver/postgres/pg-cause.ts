import type { CauseClassifier, CauseContext, CauseKind, ClassifiedCause } from '../../errors/cause-advice';

/**
 * PostgreSQL's SQLSTATEs (`pg` puts them on `code` of a `DatabaseError`, beside `severity`) and
 * the socket errors of connecting to a server, by what they mean for the operator. A code
 * without a kind of its own (`other`) may still have advice below.
 */
const BY_SQLSTATE: readonly [RegExp, CauseKind][] = [
  [/^XX00[12]$/, 'damaged'],
  [/^53100$/, 'full'],
  [/^(25006|42501)$/, 'read-only'],
  [/^(55P03|40P01|53300)$/, 'busy'],
  [/^(08...|57P0[1-4]|3D000|28...)$/, 'cannot-open'],
  [/^58.../, 'io'],
];

/** Node's errors of a connection that could not be made or was cut: only a networked database has them. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** PostgreSQL's failures, registered by its driver when it loads. */
export const postgresCauses: CauseClassifier = {
  classify(cause: object): ClassifiedCause | null {
    const { code, severity, syscall } = cause as { code?: unknown; severity?: unknown; syscall?: unknown };
    if (typeof code !== 'string') return null;
    if (typeof syscall === 'string' && SOCKET_CODES.has(code)) return { kind: 'cannot-open', code };
    // Only the server's own errors carry a severity; a 5-character Node code (EPERM) is not a SQLSTATE.
    if (typeof severity !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return null;
    return { kind: BY_SQLSTATE.find(([pattern]) => pattern.test(code))?.[1] ?? 'other', code };
  },

  advice(kind: CauseKind, code: string, _cause: unknown, context: CauseContext): string | null {
    const server = context.database ? `the PostgreSQL server ${context.database}` : 'the PostgreSQL server';
    switch (code) {
      case '25001':
        return (
          'PostgreSQL refuses this statement inside a transaction block (25001: CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, ...). ' +
          'Give the migration `transaction: false` (`@Migration({ ..., transaction: false })`, or the header line `-- transaction: false` in a .sql file) and run such statements one per query.'
        );
      case '25P02':
        return (
          'An earlier statement of this migration failed and its error was caught inside the migration: PostgreSQL then refuses every later statement of the transaction (25P02). ' +
          'Let the error propagate, or wrap a statement that may fail in `SAVEPOINT s` ... `ROLLBACK TO SAVEPOINT s`.'
        );
      case '55P03':
        return (
          'A statement waited longer than postgres.ddl.lockTimeoutMs for a lock on a table another session uses (55P03), and gave up so that the queries queued behind it ' +
          'could go on: find the long transaction holding it (pg_stat_activity, pg_locks), or run the migration when the table is quieter; raise ddl.lockTimeoutMs only knowing that the table’s readers wait that long.'
        );
      case '57014':
        return 'A statement ran longer than postgres.ddl.statementTimeoutMs (or the server cancelled it) (57014): raise ddl.statementTimeoutMs for long backfills, or split the work.';
      case '40P01':
        return 'PostgreSQL ended this transaction to break a deadlock with another session (40P01): restart; it applies what is still pending.';
      case '53300':
        return `${capitalise(server)} has no connection left (53300): the module needs two for a run (three with safety on) and two for status reads; raise max_connections or lower other pools.`;
    }
    switch (kind) {
      case 'cannot-open':
        return (
          `Could not connect to ${server} (${code}): check that it runs and is reachable from this host, and the user, password and database name ` +
          'of postgres.connectionString (and migrationConnectionString), then restart.'
        );
      case 'read-only':
        return code === '25006'
          ? `${capitalise(server)} accepts no writes (25006: a standby, or default_transaction_read_only): point the module at the primary.`
          : `The role lacks a privilege the migration needs (42501): grant it (CREATE on the schema, ownership of the tables it alters), or run migrations as the owner (migrationConnectionString).`;
      case 'full':
        return `${capitalise(server)} is out of disk space (53100): free space on the server, then restart.`;
      case 'damaged':
        return `${capitalise(server)} reports damaged data (${code}): do not let anything write to it; restore from your backups or point-in-time recovery.`;
      default:
        return null;
    }
  },
};

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

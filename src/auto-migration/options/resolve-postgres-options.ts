import type { DdlOptions, PgPoolLike, ResolvedPostgresOptions } from '../auto-migration.options';

/** `ddl.lockTimeoutMs` when not given: long enough for a quick DDL statement to get its lock, short enough that the application's queries queued behind it do not time out. */
export const DEFAULT_DDL_LOCK_TIMEOUT_MS = 5_000;
const DEFAULT_SCHEMA = 'public';
const DEFAULT_PORT = 5432;
/** Shorter passwords are not redacted: every occurrence of two letters in every message would be. */
const MIN_REDACTED_LENGTH = 4;

/** The `postgres` options after their schema check, `pool` apart. */
interface CheckedServer {
  readonly connectionString?: string;
  readonly migrationConnectionString?: string;
  readonly schema?: string;
  readonly ddl?: DdlOptions;
}

/** What the resolved options hold for PostgreSQL: the settings, the target as logs name it, the texts never to show. */
export interface PostgresResolution {
  readonly options: ResolvedPostgresOptions;
  readonly target: string;
  readonly secrets: string[];
}

/**
 * Fills in the PostgreSQL defaults and checks what the schema cannot: that there is a server to
 * reach (`connectionString` or `pool`), that `pool` is a pool, that the lock and migration
 * sessions can be opened.
 */
export function resolvePostgres(server: CheckedServer, pool: unknown): PostgresResolution | { problems: string[] } {
  const problems: string[] = [];
  if (pool !== undefined && !isPool(pool)) problems.push('postgres.pool: must be a pg.Pool (an object with query() and connect()) (got something else)');
  if (server.connectionString === undefined && pool === undefined)
    problems.push('postgres: give connectionString ("postgres://user:password@host:5432/database") or pool (your pg.Pool)');
  if (server.connectionString !== undefined && pool !== undefined)
    problems.push('postgres: give connectionString or pool, not both (the pool already says where the server is)');
  const poolSettings = isPool(pool) ? ((pool.options ?? {}) as PoolSettings) : {};
  const migrationTarget = server.migrationConnectionString ?? server.connectionString ?? poolSettings.connectionString ?? null;
  if (problems.length === 0 && migrationTarget === null && !hasHost(poolSettings))
    problems.push(
      'postgres.migrationConnectionString: needed with a pool whose settings do not say where the server is (the lock and migration sessions open connections of their own)',
    );
  if (problems.length > 0) return { problems };

  const schema = server.schema ?? DEFAULT_SCHEMA;
  const urls = [server.connectionString, server.migrationConnectionString, poolSettings.connectionString].filter((u): u is string => typeof u === 'string');
  const passwords = [...urls.flatMap(passwordsOf), typeof poolSettings.password === 'string' ? poolSettings.password : null];
  return {
    options: {
      connectionString: server.connectionString ?? null,
      pool: isPool(pool) ? pool : null,
      migrationConnectionString: server.migrationConnectionString ?? null,
      schema,
      ddl: { lockTimeoutMs: server.ddl?.lockTimeoutMs ?? DEFAULT_DDL_LOCK_TIMEOUT_MS, statementTimeoutMs: server.ddl?.statementTimeoutMs ?? 0 },
    },
    target: `${describeServer(server.connectionString ?? poolSettings.connectionString ?? null, poolSettings)} (schema "${schema}")`,
    secrets: [...urls, ...passwords.flatMap((p) => (p && p.length >= MIN_REDACTED_LENGTH ? [p, encodeURIComponent(p)] : []))],
  };
}

/** The connection settings a `pg.Pool` keeps (`pool.options`). */
interface PoolSettings {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number | string;
  readonly database?: string;
  readonly password?: unknown;
}

function isPool(value: unknown): value is PgPoolLike {
  return (
    typeof value === 'object' && value !== null && typeof (value as PgPoolLike).query === 'function' && typeof (value as PgPoolLike).connect === 'function'
  );
}

function hasHost(settings: PoolSettings): boolean {
  return typeof settings.host === 'string' || typeof settings.database === 'string';
}

/** `postgres://host:port/database`: what logs and errors may say (no user, no password, no parameters). */
export function describeServer(connectionString: string | null, settings: PoolSettings = {}): string {
  if (connectionString !== null) {
    try {
      const url = new URL(connectionString);
      return `postgres://${url.hostname || 'localhost'}:${url.port || DEFAULT_PORT}${url.pathname === '/' ? '' : decodeURIComponent(url.pathname)}`;
    } catch {
      return 'postgres://(an unreadable connection string)';
    }
  }
  return `postgres://${settings.host ?? 'localhost'}:${settings.port ?? DEFAULT_PORT}/${settings.database ?? ''}`;
}

/** The passwords a connection string carries: in its user part, or as `?password=` / `?sslpassword=` (which pg reads too). */
function passwordsOf(connectionString: string): string[] {
  try {
    const url = new URL(connectionString);
    return [url.password ? decodeURIComponent(url.password) : null, url.searchParams.get('password'), url.searchParams.get('sslpassword')].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    );
  } catch {
    return [];
  }
}

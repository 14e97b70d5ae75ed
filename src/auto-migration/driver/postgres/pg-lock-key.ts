import { createHash } from 'node:crypto';

/**
 * The first half of the module's advisory-lock keys: "nam" (nestjs-auto-migration) in ASCII. Keys
 * of two 32-bit integers live apart from the single 64-bit keys every other migration tool uses
 * (node-pg-migrate, Prisma, golang-migrate, Flyway), so they never collide with them.
 */
const NAMESPACE = 0x6e616d;

/** The advisory lock of one history: two non-negative 32-bit integers, as `pg_locks` shows them (`classid`, `objid`). */
export interface PgLockKey {
  readonly namespace: number;
  readonly key: number;
}

/**
 * The key of the history in `schema`: derived here, not by the server, so that every release and
 * every server version computes the same one. Positive, so that `pg_locks`' unsigned `objid`
 * compares with it as it is.
 */
export function lockKeyFor(schema: string): PgLockKey {
  const digest = createHash('sha256').update(`${schema}.migrations`).digest();
  return { namespace: NAMESPACE, key: digest.readUInt32BE(0) & 0x7fffffff };
}

/** Rows of `pg_locks` for the key, granted, in the current database. `$1` namespace, `$2` key. */
export const HOLDERS_OF_KEY = `FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`;

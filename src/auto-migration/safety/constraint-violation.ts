import type { ConstraintViolation } from './analyze-migration';
import type { SchemaInspector } from './schema-snapshot';

/**
 * The NOT NULL or unique constraint a migration failed on, read from the database's error
 * (anywhere in its `cause` chain): SQLite says `NOT NULL constraint failed: users.email` or
 * `UNIQUE constraint failed: users.a, users.b`; PostgreSQL gives SQLSTATE 23502 or 23505 with
 * the table, the column and, for a unique index, `Key (a, b)=(...) is duplicated.` in its detail.
 * Null for any other failure.
 */
export function violatedConstraint(failure: unknown): { rule: ConstraintViolation['rule']; table: string; columns: string[] } | null {
  for (let error = failure, depth = 0; typeof error === 'object' && error !== null && depth < 10; error = (error as { cause?: unknown }).cause, depth++) {
    const { code, message, table, column, detail } = error as { code?: unknown; message?: unknown; table?: unknown; column?: unknown; detail?: unknown };
    if (code === '23502' && typeof table === 'string' && typeof column === 'string') return { rule: 'add-not-null', table, columns: [column] };
    if (code === '23505' && typeof table === 'string') {
      const key = typeof detail === 'string' ? /^Key \((.+?)\)=/.exec(detail)?.[1] : undefined;
      if (key) return { rule: 'add-unique', table, columns: key.split(',').map((c) => c.trim().replace(/^"|"$/g, '')) };
    }
    const sqlite = typeof message === 'string' ? /\b(NOT NULL|UNIQUE) constraint failed: (.+)$/m.exec(message) : null;
    if (sqlite) {
      const columns = sqlite[2].split(',').map((c) => c.trim());
      const table = columns[0].slice(0, columns[0].lastIndexOf('.'));
      if (table && columns.every((c) => c.startsWith(`${table}.`))) {
        return { rule: sqlite[1] === 'UNIQUE' ? 'add-unique' : 'add-not-null', table, columns: columns.map((c) => c.slice(table.length + 1)) };
      }
    }
  }
  return null;
}

/**
 * Counts, on the rehearsal rolled back to before the migration, the rows that broke the
 * constraint. A table rebuild (`CREATE TABLE users_new ... NOT NULL; INSERT INTO users_new SELECT
 * ... FROM users`) fails in a table the rollback removed: the rows are counted in the table its
 * failing INSERT copied from, under that table's name.
 */
export async function countViolation(
  inspector: SchemaInspector,
  failure: unknown,
  statements: readonly { readonly sql: string }[],
  tables: ReadonlySet<string>,
): Promise<ConstraintViolation | null> {
  const named = violatedConstraint(failure);
  if (!named) return null;
  const violated = tables.has(named.table) ? named : rebuiltFrom(named, statements, tables);
  if (!violated) return null;
  try {
    const rows =
      violated.rule === 'add-not-null'
        ? await inspector.countNulls(violated.table, violated.columns[0])
        : await inspector.countDuplicates(violated.table, violated.columns);
    return { ...violated, rows };
  } catch {
    // The table the error names may be one the migration created and the rollback removed.
    return null;
  }
}

/** The constraint as it applies to the table the failing `INSERT INTO <new> ... SELECT ... FROM <old>` copied from. */
function rebuiltFrom<T extends { table: string }>(violated: T, statements: readonly { readonly sql: string }[], tables: ReadonlySet<string>): T | null {
  const target = violated.table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const copy = new RegExp(`\\bINSERT\\s+INTO\\s+["\`\\[]?${target}["\`\\]]?[\\s\\S]*?\\bFROM\\s+["\`\\[]?([\\w$]+)`, 'i');
  for (let i = statements.length - 1; i >= 0; i--) {
    const source = copy.exec(statements[i].sql)?.[1];
    if (source !== undefined) {
      const table = [...tables].find((name) => name.toLowerCase() === source.toLowerCase());
      return table === undefined ? null : { ...violated, table };
    }
  }
  return null;
}

import BetterSqlite3 from 'better-sqlite3';
import { InvalidMigrationError, RULE_IDS, RULES, type Finding, type RuleId, type SafetyReport } from '../../src/auto-migration';
import { bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import {
  applyBase,
  BASE,
  DUPLICATE_NAMES,
  type Form,
  FORMS,
  lint,
  liveBytes,
  migrationsFolder,
  NULL_NAMES,
  pending,
  POSTS,
  rebuildUsers,
  USERS,
} from '../helpers/safety';
import { historyNames } from '../helpers/sqlite';
import { useTempDatabase } from '../helpers/temp-dir';

/*
 * The safety analysis on SQLite, rule by rule, through AutoMigrationService.lint(): an applied
 * migration creates users (6 rows, 2 NULL names, 3 named 'ada', an index on name) and posts (3
 * rows); one pending migration makes the change, written as a class and as a .sql file of the
 * same text. The findings are compared whole, so a finding too many fails as well as one missing.
 */

jest.setTimeout(60_000);

/** Where a SQLite rebuild's CREATE TABLE names the column types. */
const REBUILT = (columns: string) => `CREATE TABLE users_new (${columns});`;

interface RuleCase {
  readonly title: string;
  readonly sql: string;
  readonly rule: RuleId;
  readonly object: string;
  /** The statement the finding names (null: none can be told). */
  readonly statement: string | null;
  readonly rows: number | null;
  readonly message: string;
}

const TYPE_CHANGE = 'id INTEGER PRIMARY KEY, email TEXT, name VARCHAR(80)';
const NOT_NULL = 'id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL';

const RULE_CASES: RuleCase[] = [
  {
    title: 'drop-table: DROP TABLE, with the rows it held',
    sql: 'DROP TABLE posts;',
    rule: 'drop-table',
    object: 'posts',
    statement: 'DROP TABLE posts;',
    rows: POSTS,
    message: `drops table posts (${POSTS} rows on the rehearsal)`,
  },
  {
    title: 'drop-column: ALTER TABLE ... DROP COLUMN, with the values it held',
    sql: 'ALTER TABLE users DROP COLUMN email;',
    rule: 'drop-column',
    object: 'users.email',
    statement: 'ALTER TABLE users DROP COLUMN email;',
    rows: USERS,
    message: `drops column users.email (${USERS} values on the rehearsal)`,
  },
  {
    title: 'rename-table: ALTER TABLE ... RENAME TO',
    sql: 'ALTER TABLE posts RENAME TO articles;',
    rule: 'rename-table',
    object: 'posts',
    statement: 'ALTER TABLE posts RENAME TO articles;',
    rows: null,
    message: 'renames table posts to articles',
  },
  {
    title: 'rename-column: ALTER TABLE ... RENAME COLUMN',
    sql: 'ALTER TABLE users RENAME COLUMN email TO mail;',
    rule: 'rename-column',
    object: 'users.email',
    statement: 'ALTER TABLE users RENAME COLUMN email TO mail;',
    rows: null,
    message: 'renames column users.email to mail',
  },
  {
    // The index follows the column under its new name: no drop-index beside the rename.
    title: 'rename-column of an indexed column, and nothing about its index',
    sql: 'ALTER TABLE users RENAME COLUMN name TO full_name;',
    rule: 'rename-column',
    object: 'users.name',
    statement: 'ALTER TABLE users RENAME COLUMN name TO full_name;',
    rows: null,
    message: 'renames column users.name to full_name',
  },
  {
    title: 'change-column-type: a table rebuild (SQLite cannot ALTER a type)',
    sql: rebuildUsers(TYPE_CHANGE),
    rule: 'change-column-type',
    object: 'users.name',
    statement: REBUILT(TYPE_CHANGE),
    rows: null,
    message: 'changes the type of users.name from TEXT to VARCHAR(80)',
  },
  {
    title: 'add-not-null: a rebuild with NOT NULL after a backfill, 0 rows violating it',
    sql: `UPDATE users SET name = 'unknown' WHERE name IS NULL;\n${rebuildUsers(NOT_NULL)}`,
    rule: 'add-not-null',
    object: 'users.name',
    statement: REBUILT(NOT_NULL),
    rows: 0,
    message: 'makes users.name NOT NULL; no row violates it on the rehearsal',
  },
  {
    title: 'add-unique: CREATE UNIQUE INDEX on a column without duplicates, 0 duplicates',
    sql: 'CREATE UNIQUE INDEX users_email ON users (email);',
    rule: 'add-unique',
    object: 'users(email)',
    statement: 'CREATE UNIQUE INDEX users_email ON users (email);',
    rows: 0,
    message: 'adds a unique index on users(email); no duplicates on the rehearsal',
  },
  {
    title: 'rows-deleted: DELETE, with the rows it deleted',
    sql: 'DELETE FROM users WHERE name IS NULL;',
    rule: 'rows-deleted',
    object: 'users',
    statement: 'DELETE FROM users WHERE name IS NULL;',
    rows: NULL_NAMES,
    message: `deletes ${NULL_NAMES} of the ${USERS} rows of users on the rehearsal`,
  },
  {
    title: 'drop-index: DROP INDEX',
    sql: 'DROP INDEX users_name;',
    rule: 'drop-index',
    object: 'users_name',
    statement: 'DROP INDEX users_name;',
    rows: null,
    message: 'drops index users_name on users(name)',
  },
];

/** The finding a rule gives on the pending migration `002_change`, whole. */
function expected(rule: RuleId, fields: { object: string; statement: string | null; rows: number | null; message: string; accepted?: boolean }): Finding {
  const { level, why, safePattern } = RULES[rule];
  return {
    rule,
    level,
    migration: '002_change',
    object: fields.object,
    // A .sql file's first statement carries the header comments above it.
    statement: fields.statement === null ? null : expect.stringMatching(new RegExp(`(^|\\n)${escapeRegExp(fields.statement)}$`)),
    accepted: fields.accepted ?? false,
    message: fields.message,
    why,
    safePattern,
    rows: fields.rows,
    lockMs: null,
  };
}

describe('safety analysis on SQLite: lint()', () => {
  const t = useTempDatabase();
  let folder: string;
  beforeEach(() => (folder = migrationsFolder(t.dir.path)));
  const options = () => ({ database: t.db, backup: false as const, migrationsDir: folder });

  /** Applies the base, then lints `sql` pending as `002_change`. */
  async function lintChange(form: Form, sql: string, allow: string[] = []): Promise<SafetyReport> {
    await applyBase(options());
    return lint(options(), pending(form, folder, '002_change', sql, allow));
  }

  describe.each(RULE_CASES)('$title', ({ sql, rule, ...fields }) => {
    it.each(FORMS)('as a %s', async (form) => {
      const report = await lintChange(form, sql);
      expect(report).toEqual({
        on: 'copy',
        migrations: ['002_change'],
        notRehearsed: [],
        findings: [expected(rule, fields)],
        failed: null,
        blocking: RULES[rule].level === 'error',
      });
    });
  });

  describe('a migration that fails on the rehearsal on the constraint it adds', () => {
    it.each(FORMS)('add-unique on a column with duplicates: failed, and a finding with the duplicates counted (as a %s)', async (form) => {
      const report = await lintChange(form, 'CREATE UNIQUE INDEX users_name_unique ON users (name);');
      expect(report.failed).toEqual({
        migration: '002_change',
        code: 'MIGRATION_FAILED',
        message: expect.stringContaining('UNIQUE constraint failed: users.name'),
      });
      expect(report.findings).toEqual([
        expected('add-unique', {
          object: 'users(name)',
          statement: null,
          rows: DUPLICATE_NAMES,
          message: `fails on the rehearsal: ${DUPLICATE_NAMES} duplicate rows in users(name)`,
        }),
      ]);
      expect(report.blocking).toBe(true);
    });

    // The rebuild that renames the live table away first fills a table named users, so the error names users.name.
    const RENAME_AWAY_FIRST = [
      'ALTER TABLE users RENAME TO users_old;',
      `CREATE TABLE users (${NOT_NULL});`,
      'INSERT INTO users (id, email, name) SELECT id, email, name FROM users_old;',
      'DROP TABLE users_old;',
      'CREATE INDEX users_name ON users (name);',
    ].join('\n');

    it.each(FORMS)(
      'add-not-null on a column holding NULLs (rebuild renaming the old table away): failed, and the NULL rows counted (as a %s)',
      async (form) => {
        const report = await lintChange(form, RENAME_AWAY_FIRST);
        expect(report.failed).toEqual({
          migration: '002_change',
          code: 'MIGRATION_FAILED',
          message: expect.stringContaining('NOT NULL constraint failed: users.name'),
        });
        expect(report.findings).toEqual([
          expected('add-not-null', {
            object: 'users.name',
            statement: null,
            rows: NULL_NAMES,
            message: `fails on the rehearsal: ${NULL_NAMES} rows of users hold NULL in name`,
          }),
        ]);
        expect(report.blocking).toBe(true);
      },
    );

    /*
     * SQLite's documented rebuild (and TypeORM's) fills a new table (users_new) and renames it
     * last: the constraint error names users_new, which the rollback removed, so nothing is
     * counted and no finding is made. Known gap (reported); these tests pass while it stands.
     */
    const NEW_TABLE_FIRST = [
      { rule: 'add-not-null' as const, columns: NOT_NULL, error: 'NOT NULL constraint failed: users_new.name', object: 'users.name', rows: NULL_NAMES },
      {
        rule: 'add-unique' as const,
        columns: 'id INTEGER PRIMARY KEY, email TEXT, name TEXT UNIQUE',
        error: 'UNIQUE constraint failed: users_new.name',
        object: 'users(name)',
        rows: DUPLICATE_NAMES,
      },
    ];

    const NEW_TABLE_FIRST_IN_EACH_FORM = NEW_TABLE_FIRST.flatMap((c) => FORMS.map((form) => ({ ...c, form })));

    it.each(NEW_TABLE_FIRST_IN_EACH_FORM)(
      '$rule through a rebuild into a new table (as a $form): the rehearsal fails, and says why',
      async ({ form, columns, error }) => {
        const report = await lintChange(form, rebuildUsers(columns));
        expect(report.failed).toEqual({ migration: '002_change', code: 'MIGRATION_FAILED', message: expect.stringContaining(error) });
      },
    );

    it.each(NEW_TABLE_FIRST_IN_EACH_FORM)(
      '$rule through a rebuild into a new table (as a $form): a finding with the violating rows counted in the table it copied from',
      async ({ form, rule, columns, object, rows }) => {
        const report = await lintChange(form, rebuildUsers(columns));
        expect(report.findings).toEqual([expect.objectContaining({ rule, object, rows })]);
      },
    );
  });

  // The capture gives a .sql file's first statement with the header comments above it.
  it("a .sql file's finding names its statement without the header comments", async () => {
    const report = await lintChange('sql', 'ALTER TABLE users DROP COLUMN email;');
    expect(report.findings[0].statement).toBe('ALTER TABLE users DROP COLUMN email;');
  });

  it.each(FORMS)('a clean migration (a new table, a nullable column, an index) gives no finding (as a %s)', async (form) => {
    const clean = [
      'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);',
      // A new table is new to everyone: a unique index on it is no finding either.
      'CREATE UNIQUE INDEX tags_label ON tags (label);',
      'ALTER TABLE users ADD COLUMN nickname TEXT;',
      'CREATE INDEX users_email ON users (email);',
    ].join('\n');
    expect(await lintChange(form, clean)).toEqual({ on: 'copy', migrations: ['002_change'], notRehearsed: [], findings: [], failed: null, blocking: false });
  });

  it.each(FORMS)('a SQLite table rebuild that keeps every column, type, NOT NULL and index gives no finding (as a %s)', async (form) => {
    const report = await lintChange(form, rebuildUsers('id INTEGER PRIMARY KEY, email TEXT, name TEXT'));
    expect(report).toMatchObject({ findings: [], failed: null, blocking: false });
  });

  it.each(FORMS)('the PostgreSQL-only rules never fire on SQLite, even with a lock threshold of 0 ms (as a %s)', async (form) => {
    // On PostgreSQL: index-not-concurrent (an index on a table in use), foreign-key-validated-in-place
    // and volatile-default (a rebuild adding both), table-rewrite (the rebuild), long-exclusive-lock (threshold 0).
    const pgOnly = [
      'CREATE INDEX users_email ON users (email);',
      'CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), title TEXT, rank REAL DEFAULT (random()));',
      'INSERT INTO posts_new (id, user_id, title) SELECT id, user_id, title FROM posts;',
      'DROP TABLE posts;',
      'ALTER TABLE posts_new RENAME TO posts;',
      // A rule both databases have, so the analysis is seen to run.
      'DROP INDEX users_name;',
    ].join('\n');
    const withThreshold = { ...options(), safety: { mode: 'off' as const, longLockMs: 0 } };
    await applyBase(withThreshold);
    const report = await lint(withThreshold, pending(form, folder, '002_change', pgOnly));
    expect(report.failed).toBeNull();
    expect(report.findings.map((f) => f.rule)).toEqual(['drop-index']);
    expect(report.findings.filter((f) => RULES[f.rule].databases === 'postgres')).toEqual([]);
  });

  it('names the migration of each finding and counts rows as each pending migration left them', async () => {
    await applyBase(options());
    const report = await lint(options(), [
      migration('002_delete_nameless', (db) => void db.exec('DELETE FROM users WHERE name IS NULL'), { version: '1.1.0' }),
      migration('003_drop_email', (db) => void db.exec('ALTER TABLE users DROP COLUMN email'), { version: '1.2.0' }),
    ]);
    expect(report.migrations).toEqual(['002_delete_nameless', '003_drop_email']);
    expect(report.findings).toEqual([
      expect.objectContaining({ rule: 'rows-deleted', migration: '002_delete_nameless', object: 'users', rows: NULL_NAMES }),
      expect.objectContaining({ rule: 'drop-column', migration: '003_drop_email', object: 'users.email', rows: USERS - NULL_NAMES }),
    ]);
  });

  describe('the live database', () => {
    const CHANGE = 'DELETE FROM users WHERE name IS NULL;\nALTER TABLE users DROP COLUMN email;\nDROP TABLE posts;';

    it.each(FORMS)('stays byte-identical, file and write-ahead log, while lint() runs and after (as a %s)', async (form) => {
      await applyBase(options());
      const before = liveBytes(t.db);
      const during: ReturnType<typeof liveBytes>[] = [];
      const report = await lint(options(), pending(form, folder, '002_change', CHANGE), {
        before: () => during.push(liveBytes(t.db)),
        after: () => during.push(liveBytes(t.db)),
      });
      expect(report.findings.map((f) => f.rule)).toEqual(['drop-table', 'drop-column', 'rows-deleted']);
      const [opened, linted] = during;
      expect(linted.db.equals(opened.db)).toBe(true);
      expect(linted.wal.equals(opened.wal)).toBe(true);
      const closed = liveBytes(t.db);
      expect(closed.db.equals(before.db)).toBe(true);
      expect(closed.wal.equals(before.wal)).toBe(true);
      expect(historyNames(t.db)).toEqual(['001_base']);
    });

    it('leaves a write-ahead log that holds committed rows as it was: no checkpoint, the rows counted all the same', async () => {
      await applyBase(options());
      // A connection that keeps its writes in the -wal file: no automatic checkpoint, and while it is open nobody else's close checkpoints.
      const writer = new BetterSqlite3(t.db);
      try {
        writer.pragma('wal_autocheckpoint = 0');
        writer.prepare("INSERT INTO users (email, name) VALUES ('ken@example.com', 'ken')").run();
        const before = liveBytes(t.db);
        expect(before.wal.length).toBeGreaterThan(0);

        const report = await lint(options(), pending('class', folder, '002_change', 'ALTER TABLE users DROP COLUMN email;'));
        // The row only the log holds is in the copy.
        expect(report.findings).toEqual([expect.objectContaining({ rule: 'drop-column', rows: USERS + 1 })]);
        const after = liveBytes(t.db);
        expect(after.db.equals(before.db)).toBe(true);
        expect(after.wal.equals(before.wal)).toBe(true);
      } finally {
        writer.close();
      }
    });
  });

  describe('acknowledged findings', () => {
    it.each(FORMS)("allow: ['drop-column'] (a %s) marks the finding accepted: still shown, not blocking", async (form) => {
      const report = await lintChange(form, 'ALTER TABLE users DROP COLUMN email;', ['drop-column']);
      expect(report.findings).toEqual([
        expected('drop-column', {
          object: 'users.email',
          statement: 'ALTER TABLE users DROP COLUMN email;',
          rows: USERS,
          message: `drops column users.email (${USERS} values on the rehearsal)`,
          accepted: true,
        }),
      ]);
      expect(report.blocking).toBe(false);
    });

    it.each(FORMS)('allowing another rule (a %s) accepts nothing else', async (form) => {
      const report = await lintChange(form, 'DELETE FROM users WHERE name IS NULL;\nALTER TABLE users DROP COLUMN email;', ['rows-deleted', 'drop-table']);
      expect(report.findings).toEqual([
        expect.objectContaining({ rule: 'drop-column', accepted: false }),
        expect.objectContaining({ rule: 'rows-deleted', accepted: true }),
      ]);
      expect(report.blocking).toBe(true);
    });

    it.each(FORMS)('every rule listed is accepted (a %s)', async (form) => {
      const report = await lintChange(form, 'DELETE FROM users WHERE name IS NULL;\nALTER TABLE users DROP COLUMN email;', ['drop-column', 'rows-deleted']);
      expect(report.findings.map((f) => [f.rule, f.accepted])).toEqual([
        ['drop-column', true],
        ['rows-deleted', true],
      ]);
      expect(report.blocking).toBe(false);
    });

    const typo = () =>
      migration('002_change', (db) => void db.exec('ALTER TABLE users DROP COLUMN email'), { version: '1.1.0', allow: ['drop-colum' as RuleId] });

    it('an unknown rule in @Migration({ allow }) refuses start-up, naming it; the database is untouched', async () => {
      await applyBase(options());
      const before = liveBytes(t.db);
      const { error } = await bootFailure(options(), { migrations: [BASE, typo()] });
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error.message).toMatch(
        /002_change.*: allow has \["drop-colum"\], which is not a list of safety rules \(the rules: drop-table, drop-column, .*\)$/m,
      );
      expect(liveBytes(t.db)).toEqual(before);
      expect(historyNames(t.db)).toEqual(['001_base']);
    });

    it('an unknown rule in @Migration({ allow }): the message lists every valid rule id', async () => {
      await applyBase(options());
      const { error } = await bootFailure(options(), { migrations: [BASE, typo()] });
      expect(error.message).toContain(`allow has ["drop-colum"], which is not a list of safety rules (the rules: ${RULE_IDS.join(', ')})`);
    });

    it('an unknown rule in a SQL header "-- allow:" refuses start-up, naming it and the valid ids; the database is untouched', async () => {
      await applyBase(options());
      const before = liveBytes(t.db);
      pending('sql', folder, '002_change', 'ALTER TABLE users DROP COLUMN email;', ['drop-column', 'drop-colum']);
      const { error } = await bootFailure(options(), { migrations: [BASE] });
      expect(error).toBeInstanceOf(InvalidMigrationError);
      expect(error.message).toContain(`allow: "drop-colum" is not a rule (${RULE_IDS.join(', ')})`);
      expect(error.message).toMatch(/002_change\.sql.*allow: "drop-colum"/);
      expect(error.message).not.toContain('"drop-column"');
      expect(liveBytes(t.db)).toEqual(before);
      expect(historyNames(t.db)).toEqual(['001_base']);
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { splitStatements, statementsRefusedInTransaction } from '../../src/auto-migration/driver/postgres/pg-statements';

const texts = (sql: string): string[] => splitStatements(sql).map((s) => s.text);
const whats = (sql: string): string[] => statementsRefusedInTransaction(sql).map((s) => s.what);

describe('splitStatements', () => {
  it('splits on ; and keeps each statement as written, without the ; and the white space around it', () => {
    expect(splitStatements('CREATE TABLE a (id int);\n  INSERT INTO a VALUES (1)  ;\nSELECT 1;')).toEqual([
      { text: 'CREATE TABLE a (id int)', line: 1 },
      { text: 'INSERT INTO a VALUES (1)', line: 2 },
      { text: 'SELECT 1', line: 3 },
    ]);
  });

  it('keeps text after the last ; as a statement', () => {
    expect(texts('SELECT 1;\nSELECT 2\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it.each([[''], ['   \n\t\n'], [';;;'], ['-- only a comment\n'], ['/* a */ ; -- b\n;'], ['--x']])('finds no statement in %j', (sql) => {
    expect(splitStatements(sql)).toEqual([]);
  });

  it('drops empty statements between others', () => {
    expect(texts('SELECT 1;; ;\n-- nothing here\n;SELECT 2;')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it.each([
    ['a single-quoted string', "SELECT 'a;b';", "SELECT 'a;b'"],
    ["a string with '' escapes", "SELECT 'it''s; fine', 'x';", "SELECT 'it''s; fine', 'x'"],
    ["an E'' string with a backslash-escaped quote", "SELECT E'it\\'s; fine';", "SELECT E'it\\'s; fine'"],
    ["an e'' string with an escaped backslash before its end", "SELECT e'a\\\\';", "SELECT e'a\\\\'"],
    ["a U&'' string", "SELECT U&'d;\\0061t\\+000061';", "SELECT U&'d;\\0061t\\+000061'"],
    ["B'' and X'' strings", "SELECT B'1;0', X'1;F';", "SELECT B'1;0', X'1;F'"],
    ['a $$ dollar quote', 'SELECT $$a;b$$;', 'SELECT $$a;b$$'],
    ['a $tag$ dollar quote holding $$ and another tag', 'SELECT $fn$ $$ ; $other$ ; $fn$;', 'SELECT $fn$ $$ ; $other$ ; $fn$'],
    ['a dollar quote holding quotes', `SELECT $q$ it's "x; $q$;`, `SELECT $q$ it's "x; $q$`],
    ['a double-quoted identifier with "" escapes', 'SELECT 1 AS "a;""b;";', 'SELECT 1 AS "a;""b;"'],
    ['a U&"" identifier', 'SELECT 1 AS U&"a;b";', 'SELECT 1 AS U&"a;b"'],
    ['a -- comment', 'SELECT 1 -- not the end;\n+ 1;', 'SELECT 1 -- not the end;\n+ 1'],
    ['a /* */ comment', 'SELECT /* ; */ 1;', 'SELECT /* ; */ 1'],
    ['nested /* */ comments', 'SELECT /* a /* b; */ still inside; */ 1;', 'SELECT /* a /* b; */ still inside; */ 1'],
    [
      'parentheses (a multi-action rule)',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))',
    ],
  ])('does not split inside %s', (_what, sql, statement) => {
    expect(texts(`${sql}\nSELECT 2;`)).toEqual([statement, 'SELECT 2']);
  });

  it('reads a quote inside a comment, and a comment opener inside a string, as text', () => {
    expect(texts("SELECT 1; -- it's\nSELECT '/*'; /* \" $$ */ SELECT '--';\nSELECT 4")).toEqual(['SELECT 1', "SELECT '/*'", "SELECT '--'", 'SELECT 4']);
  });

  it('reads $1 as a parameter, not a dollar quote', () => {
    expect(texts('PREPARE p(int) AS SELECT $1;\nEXECUTE p(1);')).toEqual(['PREPARE p(int) AS SELECT $1', 'EXECUTE p(1)']);
  });

  it('reads a $ that continues an identifier as part of it, not a dollar quote', () => {
    expect(texts('SELECT 1 AS a$b$c;\nSELECT 2;')).toEqual(['SELECT 1 AS a$b$c', 'SELECT 2']);
  });

  it("reads E only as a prefix when it stands alone: in name'...' the string is a plain one", () => {
    // In a plain string a backslash is text, so 'x\' ends at the second quote.
    expect(texts("SELECT name'x\\'; SELECT 2;")).toEqual(["SELECT name'x\\'", 'SELECT 2']);
  });

  it('keeps a PL/pgSQL function whose $$ body holds many ;', () => {
    const fn = `CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  IF NEW.name = 'x;y' THEN
    RAISE NOTICE 'semi; colon';
  END IF;
  RETURN NEW;
END;
$$`;
    expect(splitStatements(`${fn};\nCREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch();`)).toEqual([
      { text: fn, line: 1 },
      { text: 'CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch()', line: 10 },
    ]);
  });

  it('keeps a DO block whole', () => {
    expect(texts("DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x'; END $$;\nSELECT 2;")).toEqual(["DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x'; END $$", 'SELECT 2']);
  });

  describe('BEGIN ATOMIC bodies (SQL-standard functions, PostgreSQL 14+)', () => {
    it('keeps CREATE FUNCTION ... BEGIN ATOMIC ... END whole', () => {
      const fn = 'CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + b;\nEND';
      expect(splitStatements(`${fn};\nSELECT add(1, 2);`)).toEqual([
        { text: fn, line: 1 },
        { text: 'SELECT add(1, 2)', line: 5 },
      ]);
    });

    it('keeps CREATE OR REPLACE PROCEDURE ... BEGIN ATOMIC with several statements and a CASE ... END inside', () => {
      const proc = `create or replace procedure p(x int) language sql begin atomic
  insert into log values (case when x > 0 then 'pos;' else 'neg' end);
  insert into log values ('two');
end`;
      expect(texts(`${proc};\nCALL p(1);`)).toEqual([proc, 'CALL p(1)']);
    });

    it('does not count BEGIN/END outside a routine definition, nor inside parentheses of one', () => {
      expect(texts('BEGIN;\nSELECT 1;\nEND;')).toEqual(['BEGIN', 'SELECT 1', 'END']);
      expect(texts('CREATE FUNCTION f() RETURNS TABLE (begin int) LANGUAGE sql AS $$ SELECT 1 $$;\nSELECT 2;')).toEqual([
        'CREATE FUNCTION f() RETURNS TABLE (begin int) LANGUAGE sql AS $$ SELECT 1 $$',
        'SELECT 2',
      ]);
    });

    it('ends a RETURN-style SQL function at its ; (a CASE without BEGIN does not open a block)', () => {
      expect(texts('CREATE FUNCTION s(x int) RETURNS text LANGUAGE sql RETURN CASE WHEN x > 0 THEN 1 END;\nSELECT 2;')).toEqual([
        'CREATE FUNCTION s(x int) RETURNS text LANGUAGE sql RETURN CASE WHEN x > 0 THEN 1 END',
        'SELECT 2',
      ]);
    });
  });

  describe('line numbers', () => {
    it('gives the line of the first token, after leading comments and blank lines', () => {
      const sql = '-- transaction: false\n-- version: 1.0.0\n\n/* why:\n   because */\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n\n  DROP INDEX CONCURRENTLY j;';
      expect(splitStatements(sql)).toEqual([
        { text: 'CREATE INDEX CONCURRENTLY i ON t (a)', line: 6 },
        { text: 'DROP INDEX CONCURRENTLY j', line: 9 },
      ]);
    });

    it('counts the lines inside strings, dollar quotes, identifiers and comments', () => {
      const sql = "SELECT 'a\nb';\nSELECT $$\n\n$$;\nSELECT \"x\ny\";\n/*\n/*\n*/\n*/ SELECT E'\\\n';\nSELECT 5;";
      expect(splitStatements(sql).map((s) => s.line)).toEqual([1, 3, 6, 11, 13]);
    });

    it('reads CRLF line endings, keeping them in the text', () => {
      const sql = '-- header\r\nCREATE TABLE a (\r\n  id int -- key;\r\n);\r\n\r\nSELECT 1;\r\n';
      expect(splitStatements(sql)).toEqual([
        { text: 'CREATE TABLE a (\r\n  id int -- key;\r\n)', line: 2 },
        { text: 'SELECT 1', line: 6 },
      ]);
    });
  });

  describe('unterminated quotes and comments', () => {
    it.each([
      ['a quoted string', "SELECT 1;\nSELECT 'abc;\nSELECT 2;", /Unterminated quoted string opened at line 2/],
      ["a string whose last quote is ''", "SELECT 'it''", /Unterminated quoted string opened at line 1/],
      ["an E'' string whose quote is escaped", "SELECT 1;\n\nSELECT E'it\\';", /Unterminated E'' string opened at line 3/],
      ['a quoted identifier', 'SELECT 1;\nSELECT "abc;', /Unterminated quoted identifier opened at line 2/],
      ['a dollar quote', 'SELECT 1;\nDO $body$ BEGIN END $$;\n', /Unterminated dollar-quoted string: \$body\$ opened at line 2/],
      ['a block comment', 'SELECT 1;\n/* a\n', /Unterminated \/\* comment opened at line 2/],
      ['a nested block comment closed only once', '/* a /* b */\nSELECT 1;', /Unterminated \/\* comment opened at line 1/],
    ])('names the line where %s opened', (_what, sql, message) => {
      expect(() => splitStatements(sql)).toThrow(message);
      expect(() => statementsRefusedInTransaction(sql)).toThrow(message);
    });

    it('says how to close it', () => {
      expect(() => splitStatements('SELECT $x$')).toThrow('Close it with $x$.');
      expect(() => splitStatements("SELECT 'a")).toThrow("Close it with '");
    });
  });

  it('gives back the same statements when they are joined with ;\\n and split again', () => {
    const sql = `-- transaction: false
CREATE TABLE "odd;name" (id int, note text DEFAULT 'a;b' /* c; */);
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN RETURN NEW; END; $fn$;
CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT x; END;
SELECT E'\\';', $$;$$, U&'\\0041;', $1 -- trailing;
;
CREATE INDEX CONCURRENTLY i ON "odd;name" (id)`;
    const once = splitStatements(sql);
    expect(once).toHaveLength(5);
    const again = splitStatements(once.map((s) => s.text).join(';\n'));
    expect(again.map((s) => s.text)).toEqual(once.map((s) => s.text));
  });
});

describe('statementsRefusedInTransaction', () => {
  it.each([
    ['CREATE INDEX CONCURRENTLY i ON t (a)', 'CREATE INDEX CONCURRENTLY'],
    ['create unique index concurrently if not exists i on t (a)', 'CREATE INDEX CONCURRENTLY'],
    ['DROP INDEX CONCURRENTLY IF EXISTS i', 'DROP INDEX CONCURRENTLY'],
    ['REINDEX INDEX CONCURRENTLY i', 'REINDEX CONCURRENTLY'],
    ['REINDEX TABLE CONCURRENTLY t', 'REINDEX CONCURRENTLY'],
    ['REINDEX (VERBOSE, CONCURRENTLY) TABLE t', 'REINDEX CONCURRENTLY'],
    ['REINDEX (CONCURRENTLY true) INDEX i', 'REINDEX CONCURRENTLY'],
    ['REINDEX SCHEMA app', 'REINDEX SCHEMA'],
    ['REINDEX DATABASE', 'REINDEX DATABASE'],
    ['REINDEX (VERBOSE) SYSTEM app', 'REINDEX SYSTEM'],
    ['VACUUM', 'VACUUM'],
    ['vacuum (analyze, verbose) t', 'VACUUM'],
    ['VACUUM FULL t', 'VACUUM'],
    ['CLUSTER', 'CLUSTER without a table'],
    ['CLUSTER VERBOSE', 'CLUSTER without a table'],
    ['CLUSTER (VERBOSE)', 'CLUSTER without a table'],
    ['CREATE DATABASE other', 'CREATE DATABASE'],
    ['DROP DATABASE IF EXISTS other', 'DROP DATABASE'],
    ['ALTER DATABASE "other" SET TABLESPACE fast', 'ALTER DATABASE ... SET TABLESPACE'],
    ["CREATE TABLESPACE fast LOCATION '/ssd'", 'CREATE TABLESPACE'],
    ['DROP TABLESPACE fast', 'DROP TABLESPACE'],
    ["ALTER SYSTEM SET work_mem = '64MB'", 'ALTER SYSTEM'],
    ['DISCARD ALL', 'DISCARD ALL'],
    ['ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY', 'ALTER TABLE ... DETACH PARTITION CONCURRENTLY'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=p' PUBLICATION pub", 'CREATE SUBSCRIPTION'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=p' PUBLICATION pub WITH (create_slot = true, enabled = false)", 'CREATE SUBSCRIPTION'],
    ['DROP SUBSCRIPTION s', 'DROP SUBSCRIPTION'],
    ['DROP SUBSCRIPTION IF EXISTS s', 'DROP SUBSCRIPTION'],
    ['ALTER SUBSCRIPTION s REFRESH PUBLICATION', 'ALTER SUBSCRIPTION ... REFRESH'],
    ['ALTER SUBSCRIPTION s SET PUBLICATION p2', 'ALTER SUBSCRIPTION ... SET PUBLICATION'],
    ['ALTER SUBSCRIPTION s ADD PUBLICATION p3 WITH (copy_data = false)', 'ALTER SUBSCRIPTION ... ADD PUBLICATION'],
    ['ALTER SUBSCRIPTION s SET (failover = true)', 'ALTER SUBSCRIPTION ... SET (failover)'],
    ['ALTER SUBSCRIPTION s SET (two_phase = false)', 'ALTER SUBSCRIPTION ... SET (two_phase = false)'],
  ])('flags %s', (statement, what) => {
    expect(statementsRefusedInTransaction(`CREATE TABLE t (a int);\n${statement};\nSELECT 1;`)).toEqual([{ statement, line: 2, what }]);
  });

  it.each([
    ['CREATE INDEX i ON t (a)'],
    ['CREATE UNIQUE INDEX i ON t (a)'],
    ['DROP INDEX i'],
    ['REINDEX TABLE t'],
    ['REINDEX (VERBOSE) INDEX i'],
    ['REINDEX (CONCURRENTLY false) TABLE t'],
    ['ANALYZE t'],
    ['CLUSTER t'],
    ['CLUSTER VERBOSE t USING t_pkey'],
    ['CLUSTER (VERBOSE) t'],
    ['ALTER DATABASE app SET search_path = app, public'],
    ['ALTER TABLESPACE fast RENAME TO quick'],
    ['DISCARD PLANS'],
    ['DISCARD TEMP'],
    ['ALTER TABLE m DETACH PARTITION m_2020'],
    ['ALTER TABLE m ATTACH PARTITION m_2021 FOR VALUES FROM (1) TO (2)'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=p' PUBLICATION pub WITH (create_slot = false, slot_name = 's')"],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=p' PUBLICATION pub WITH (connect = 'off')"],
    ['ALTER SUBSCRIPTION s SET PUBLICATION p2 WITH (refresh = false)'],
    ['ALTER SUBSCRIPTION s DROP PUBLICATION p2 WITH (refresh = off)'],
    ['ALTER SUBSCRIPTION s DISABLE'],
    ['ALTER SUBSCRIPTION s SET (slot_name = NONE)'],
    ['ALTER SUBSCRIPTION s SET (two_phase = true)'],
    ['ALTER TYPE mood ADD VALUE IF NOT EXISTS $$sad$$'],
    ['CREATE TABLE concurrently_log (vacuum int)'],
    ['SELECT * FROM vacuum_stats'],
    ["INSERT INTO notes VALUES ('VACUUM'), ($$CREATE INDEX CONCURRENTLY i ON t (a)$$), (E'DROP DATABASE x')"],
  ])('does not flag %s', (statement) => {
    expect(statementsRefusedInTransaction(`${statement};`)).toEqual([]);
  });

  it('does not flag a DO body, a function body or a comment that mentions a refused statement', () => {
    const sql = `-- VACUUM t; CREATE INDEX CONCURRENTLY i ON t (a);
/* DROP DATABASE prod;
   /* VACUUM FULL; */ ALTER SYSTEM SET x = 1; */
DO $$ BEGIN EXECUTE 'VACUUM t'; END $$;
DO $do$ BEGIN
  VACUUM t;
END $do$;
CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  CREATE INDEX CONCURRENTLY i ON t (a);
END;
$fn$;
CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 'VACUUM'; END;
SELECT 1 AS "VACUUM";`;
    expect(statementsRefusedInTransaction(sql)).toEqual([]);
  });

  it('matches after leading comments, in any case, and reports each hit with its line', () => {
    const sql = `-- version: 1.2.0
CREATE TABLE t (a int);
/* the index */ Create  Index
  Concurrently i ON t (a);
-- maintenance
vAcUuM t;
CREATE INDEX j ON t (a);`;
    expect(statementsRefusedInTransaction(sql)).toEqual([
      { statement: 'Create  Index\n  Concurrently i ON t (a)', line: 3, what: 'CREATE INDEX CONCURRENTLY' },
      { statement: 'vAcUuM t', line: 6, what: 'VACUUM' },
    ]);
  });

  it('does not flag DROP SUBSCRIPTION once the file has set its slot_name to NONE', () => {
    const sql = `ALTER SUBSCRIPTION "Sub" DISABLE;
ALTER SUBSCRIPTION "Sub" SET (slot_name = NONE);
DROP SUBSCRIPTION "Sub";
DROP SUBSCRIPTION sub;`;
    // "Sub" and sub are different subscriptions: only the quoted one had its slot unset.
    expect(statementsRefusedInTransaction(sql)).toEqual([{ statement: 'DROP SUBSCRIPTION sub', line: 4, what: 'DROP SUBSCRIPTION' }]);
  });

  it('finds nothing in an empty file', () => {
    expect(whats('')).toEqual([]);
    expect(whats('-- version: 1.0.0\n')).toEqual([]);
  });
});

import { redactPaths } from '../../src/auto-migration/status/redact';

describe('redactPaths', () => {
  const DB = '/srv/app/data/app.db';

  it('removes the known database path', () => {
    const out = redactPaths(`unable to open database file ${DB}`, [DB]);
    expect(out).not.toContain(DB);
    expect(out).not.toContain('/srv');
    expect(out).toContain('unable to open database file');
  });

  it('removes the known path inside quotes and with a suffix (-wal, -journal)', () => {
    const out = redactPaths(`cannot open "${DB}" or ${DB}-wal or ${DB}-journal`, [DB]);
    expect(out).not.toContain('/srv');
    expect(out).not.toContain('app.db');
    expect(out).toContain('-wal');
  });

  it('removes a known path that is a single segment or holds regex characters', () => {
    expect(redactPaths('open /app.db failed', ['/app.db'])).not.toContain('app.db');
    const odd = '/srv/my (1)/a+b[0].db';
    const out = redactPaths(`open ${odd} failed`, [odd]);
    expect(out).not.toContain('my (1)');
    expect(out).not.toContain('a+b[0]');
  });

  it('ignores empty known paths', () => {
    expect(redactPaths('near "x": syntax error', [''])).toBe('near "x": syntax error');
  });

  it.each([['/home/user/project/dist/migrations/001.js'], ['/tmp/x/y.db'], ['/var/lib/app-data/db.sqlite'], ['/Users/first.last@corp/app/app.db']])(
    'removes another absolute POSIX path %s',
    (path) => {
      const out = redactPaths(`failed at ${path}: oops`, []);
      expect(out).not.toContain(path);
      expect(out).toContain('failed at');
      expect(out).toContain(': oops');
    },
  );

  it('removes paths in stack-frame form but keeps line numbers and text around', () => {
    const out = redactPaths('at Object.<anonymous> (/work/main/src/x.ts:3:9)', []);
    expect(out).not.toContain('/work');
    expect(out).toContain('at Object.<anonymous> (');
    expect(out).toContain(':3:9)');
  });

  it.each([['C:\\Users\\bob\\app\\app.db'], ['C:/Users/bob/app.db'], ['D:\\data\\app.db']])('removes a Windows path %s', (path) => {
    const out = redactPaths(`SQLITE_CANTOPEN: ${path} is locked`, []);
    expect(out).not.toContain('Users');
    expect(out).not.toContain('bob');
    expect(out).not.toContain('data\\');
    expect(out).not.toMatch(/[A-Z]:[\\/]|[A-Z]:</);
    expect(out).toBe(`SQLITE_CANTOPEN: <path> is locked`);
    expect(out).toContain('SQLITE_CANTOPEN:');
    expect(out).toContain('is locked');
  });

  it.each([
    ['near "/": syntax error'],
    ['SqliteError: near "/": syntax error'],
    ['no such table: main.users'],
    ['UNIQUE constraint failed: users.email'],
    ['ratio 1/2 and and/or'],
    ['Migration "001_create_users" failed: boom'],
    ['file /tmp is fine'],
    [''],
  ])('keeps ordinary text %j', (text) => {
    expect(redactPaths(text, [DB])).toBe(text);
  });

  it('removes every occurrence', () => {
    const out = redactPaths(`${DB} and ${DB} and /etc/other/file`, [DB]);
    expect(out).not.toContain('/srv');
    expect(out).not.toContain('/etc');
  });
});

describe('redactPaths: text that only looks like a path', () => {
  it.each([['SELECT 6/2/1'], ['CHECK constraint failed: a/b/c'], ['2026/11/28'], ['see https://example.com/a/b']])('keeps %j', (text) => {
    expect(redactPaths(text, [])).toBe(text);
  });

  it('removes paths with non-ASCII folder names', () => {
    expect(redactPaths('cannot open /srv/データ/app.db', [])).toBe('cannot open <path>');
  });
});

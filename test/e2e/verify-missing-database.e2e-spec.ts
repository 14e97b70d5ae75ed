import { existsSync, readdirSync } from 'node:fs';
import { DatabaseUnavailableError } from '../../src/auto-migration';
import { bootFailure } from '../helpers/boot';
import { migration } from '../helpers/migrations';
import { useTempDatabase } from '../helpers/temp-dir';

describe("mode: 'verify' on a database path that does not exist", () => {
  const t = useTempDatabase();

  it.each([true, false])('fails start-up naming the path and creates nothing, no file and no folder (failOnError: %s)', async (failOnError) => {
    const database = t.dir.file('data/app.db');
    const { error } = await bootFailure({ database, mode: 'verify', failOnError }, { migrations: [migration('001_a')] });
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', path: database });
    expect(error.message).toContain(`"${database}"`);
    expect(error.message).toContain("mode 'verify' creates nothing");
    expect(error.message).toContain('npx nest-auto-migration up');
    expect(existsSync(database)).toBe(false);
    expect(readdirSync(t.dir.path)).toEqual([]);
  });
});

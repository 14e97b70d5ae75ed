import { clientMissing } from '../../src/auto-migration/driver/create-driver';
import { thrown } from '../helpers/thrown';

/** A real "Cannot find module" failure from Node's resolver, for a package that does not exist. */
function notFound(name: string): unknown {
  return thrown(() => require.resolve(name));
}

describe('clientMissing: the advice when a database client cannot load', () => {
  it('names the client itself when it is not installed', () => {
    expect(clientMissing(notFound('no-such-client-3f9a'), 'no-such-client-3f9a')).toEqual({
      cause: 'its database client "no-such-client-3f9a" is not installed',
      advice: 'It is an optional peer dependency of this module, installed by the app: npm install no-such-client-3f9a',
    });
  });

  it("names the client, not its missing dependency, when the client's own install is incomplete", () => {
    const missing = clientMissing(notFound('no-such-helper-3f9a'), 'better-sqlite3');
    expect(missing?.cause).toBe('its database client "better-sqlite3" cannot load: "no-such-helper-3f9a", which it needs, is missing');
    expect(missing?.advice).toContain('npm install better-sqlite3');
    expect(missing?.advice).not.toContain('npm install no-such-helper-3f9a');
  });

  it('leaves every other failure alone', () => {
    expect(clientMissing(new Error('boom'), 'better-sqlite3')).toBeNull();
    expect(
      clientMissing(
        thrown(() => JSON.parse('{')),
        'better-sqlite3',
      ),
    ).toBeNull();
  });
});

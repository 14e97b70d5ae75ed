// `npm run test:pooler`: the tests that need PgBouncer in front of the server (test/pooler/, which
// the default config's testRegex leaves out), with the same global set-up.
/** @type {import('jest').Config} */
module.exports = { ...require('./jest.config.js'), testRegex: 'test/pooler/.*\\.pooler-spec\\.ts$' };

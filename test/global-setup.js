// One cache of compiled TypeScript per test run, shared by every process the tests spawn (see
// scripts/ts-cache.js): a spawned fixture then starts in a fraction of a second instead of ~2 s.
// One PostgreSQL server per run (see test/postgres-server.js): the one PG_TEST_URL names, checked,
// or an embedded one whose URL is published as PG_TEST_URL. The environment set here is inherited
// by the tests and by every process they spawn.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { checkServer, startEmbedded } = require('./postgres-server');

module.exports = async () => {
  process.env.TS_CACHE_DIR = mkdtempSync(join(tmpdir(), 'auto-migration-ts-cache-'));
  if (process.env.PG_TEST_URL) return checkServer(process.env.PG_TEST_URL);
  const server = await startEmbedded();
  // Read by test/global-teardown.js, which runs in this same process.
  globalThis.__embeddedPostgres = server;
  process.env.PG_TEST_URL = server.url;
};

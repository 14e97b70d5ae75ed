// One cache of compiled TypeScript per test run, shared by every process the tests spawn (see
// scripts/ts-cache.js): a spawned fixture then starts in a fraction of a second instead of ~2 s.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  process.env.TS_CACHE_DIR = mkdtempSync(join(tmpdir(), 'auto-migration-ts-cache-'));
};

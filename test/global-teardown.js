const { rmSync } = require('node:fs');

module.exports = async () => {
  if (process.env.TS_CACHE_DIR) rmSync(process.env.TS_CACHE_DIR, { recursive: true, force: true });
  // Started by test/global-setup.js; a server named by the caller's PG_TEST_URL is left alone.
  const server = globalThis.__embeddedPostgres;
  if (server) {
    globalThis.__embeddedPostgres = undefined;
    await server.stop();
  }
};

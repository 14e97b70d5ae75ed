#!/usr/bin/env node
/*
 * NestJS 12 compatibility check for the packed library (plain Node, standard library only).
 *
 *   node compat/run-nest12.mjs [--tarball FILE] [--keep]
 *
 * 1. `npm pack` the repository (its prepack builds dist/), unless --tarball names a packed file.
 * 2. Copy compat/nest12 (an ES module NestJS 12 app with its own lockfile) to a fresh folder under
 *    the OS temp dir, where no NestJS 11 node_modules of this repository can be reached by walking
 *    up, then `npm ci` and `npm install --no-save <tarball>`.
 * 3. Check the install: NestJS 12.x, exactly one copy of @nestjs/common and of @nestjs/core.
 * 4. Start the app: it reports whether the library (CommonJS, loaded through require(esm)) and the
 *    app share the same @nestjs/common and @nestjs/core module instances, then listens.
 * 5. GET /migrations/status, /health and /users; SIGTERM the app; remove the temp folder.
 *
 * Exit code 0 with a summary when every check passes, 1 with a one-line reason (last line of
 * output) on the first failure. --keep leaves the temp folder for a look afterwards.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..');
const APP_TEMPLATE = join(HERE, 'nest12');
const APP_FILES = ['package.json', 'package-lock.json', 'app.mjs'];
const EXPECTED_MIGRATIONS = ['001_create_users', '002_seed_users'];
const SINGLE_COPY_PACKAGES = ['@nestjs/common', '@nestjs/core'];
const REPORTED_PACKAGES = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/terminus',
  '@nestjs/schedule',
  'better-sqlite3',
  'reflect-metadata',
  'rxjs',
  'nestjs-auto-migration',
  'class-validator',
  'class-transformer',
];
const NPM_TIMEOUT_MS = 10 * 60_000;
const LISTEN_TIMEOUT_MS = 60_000;
const HTTP_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;

/** A failed check: its message is the one-line reason printed last. */
class CheckFailure extends Error {
  constructor(reason, details = '') {
    super(reason);
    this.details = details;
  }
}

const log = (line) => process.stdout.write(`[nest12] ${line}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const startedAt = Date.now();
const timings = [];

/** Runs one named step, printing when it starts and how long it took. */
async function step(name, fn) {
  log(`${name} ...`);
  const t0 = Date.now();
  const result = await fn();
  const took = Date.now() - t0;
  timings.push([name, took]);
  log(`${name}: ok (${seconds(took)})`);
  return result;
}

function check(condition, reason) {
  if (!condition) throw new CheckFailure(reason);
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** The environment without npm's own variables, which `npm run` sets and would leak into the nested npm. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, ...extra };
}

const children = new Set();

function start(command, args, { cwd, env = cleanEnv() }) {
  const child = spawn(command, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32' && command === 'npm',
  });
  const handle = { child, out: '', err: '', exit: undefined, listeners: new Set() };
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    handle.out += chunk;
    for (const listener of handle.listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (handle.err += chunk));
  handle.exited = new Promise((done) => {
    child.on('close', (code, signal) => {
      handle.exit = { code, signal };
      children.delete(handle);
      for (const listener of handle.listeners) listener();
      done(handle.exit);
    });
    child.on('error', (error) => {
      handle.exit = { code: null, signal: null, error };
      children.delete(handle);
      for (const listener of handle.listeners) listener();
      done(handle.exit);
    });
  });
  children.add(handle);
  return handle;
}

function output(handle) {
  return `--- stdout ---\n${handle.out}--- stderr ---\n${handle.err}`;
}

function lastLine(text) {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '(no output)'
  );
}

/** The most telling line of a failed npm command: a compiler or npm error, else its last line. */
function reasonLine(handle) {
  const lines = `${handle.out}\n${handle.err}`.split('\n').map((l) => l.trim());
  const telling = lines.find((l) => /error TS\d+|^npm error (?!code |path |command |A complete log|\s*$)|^Error:/.test(l));
  return telling ?? lastLine(handle.err || handle.out);
}

async function waitForExit(handle, timeoutMs) {
  let timer;
  const timeout = new Promise((done) => (timer = setTimeout(() => done(undefined), timeoutMs)));
  const exit = await Promise.race([handle.exited, timeout]);
  clearTimeout(timer);
  return exit;
}

/** Runs a command to completion; a non-zero exit (or a timeout) is a failed check. */
async function run(command, args, cwd) {
  const handle = start(command, args, { cwd });
  const exit = await waitForExit(handle, NPM_TIMEOUT_MS);
  const what = `${command} ${args.join(' ')}`;
  if (!exit) {
    handle.child.kill('SIGKILL');
    throw new CheckFailure(`${what} did not finish within ${seconds(NPM_TIMEOUT_MS)}`, output(handle));
  }
  if (exit.error) throw new CheckFailure(`${what} could not start: ${exit.error.message}`);
  if (exit.code !== 0) {
    throw new CheckFailure(`${what} failed (exit ${exit.code ?? exit.signal}): ${reasonLine(handle)}`, output(handle));
  }
  return handle;
}

/** Resolves with the first stdout match of `pattern`; fails if the child exits first or time runs out. */
function waitForLine(handle, pattern, label, timeoutMs) {
  return new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => {
      handle.listeners.delete(probe);
      reject(new CheckFailure(`app did not print ${label} within ${seconds(timeoutMs)}: ${lastLine(handle.err || handle.out)}`, output(handle)));
    }, timeoutMs);
    function probe() {
      const match = pattern.exec(handle.out);
      if (match) {
        clearTimeout(timer);
        handle.listeners.delete(probe);
        resolveLine(match);
      } else if (handle.exit) {
        clearTimeout(timer);
        handle.listeners.delete(probe);
        const failure = /^NEST12 APP FAILED: (.*)$/m.exec(handle.err)?.[1] ?? lastLine(handle.err || handle.out);
        const how = handle.exit.error ? handle.exit.error.message : `exit ${handle.exit.code ?? handle.exit.signal}`;
        reject(new CheckFailure(`app stopped (${how}) before printing ${label}: ${failure}`, output(handle)));
      }
    }
    handle.listeners.add(probe);
    probe();
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP

function httpGet(url) {
  return new Promise((resolveResponse, reject) => {
    const req = request(url, { method: 'GET', timeout: HTTP_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolveResponse({ status: res.statusCode, body, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${seconds(HTTP_TIMEOUT_MS)}`)));
    req.on('error', (error) => reject(new CheckFailure(`GET ${url} failed: ${error.message}`)));
    req.end();
  });
}

const brief = (text) => (text.length > 300 ? `${text.slice(0, 300)}...` : text);

// ---------------------------------------------------------------------------------------------
// The installed tree

/**
 * Every installed copy of each package in `names` anywhere below `nodeModules` (nested
 * node_modules included), by real path; a symlinked package folder counts, but is not followed.
 */
function findCopies(nodeModules, names) {
  const suffixes = new Map(names.map((name) => [`${sep}node_modules${sep}${name.split('/').join(sep)}`, name]));
  const found = new Map(names.map((name) => [name, new Set()]));
  const stack = [nodeModules];
  while (stack.length > 0) {
    const dir = stack.pop();
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      for (const [suffix, name] of suffixes) {
        if (full.endsWith(suffix) && existsSync(join(full, 'package.json'))) found.get(name).add(realpathSync(full));
      }
    }
  }
  return found;
}

function readVersion(packageDir) {
  try {
    return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** A node_modules holding @nestjs packages in any folder above `dir` (the app would resolve them by walking up). */
function nestAbove(dir) {
  for (let current = dirname(dir); ; current = dirname(current)) {
    if (existsSync(join(current, 'node_modules', '@nestjs'))) return join(current, 'node_modules', '@nestjs');
    if (dirname(current) === current) return undefined;
  }
}

const isNest12 = (version) => typeof version === 'string' && /^12\.\d+\.\d+/.test(version);

// ---------------------------------------------------------------------------------------------

async function main() {
  const { values: flags } = parseArgs({
    options: { tarball: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });

  // require(esm) is what lets the CommonJS build load the ESM-only NestJS 12 (on by default from Node 20.19 / 22.12).
  check(process.features.require_module === true, `Node ${process.version} cannot require() ES modules by default; NestJS 12 with this CommonJS build needs Node >= 20.19 (or >= 22.12)`);

  const repoPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'nestjs-auto-migration-nest12-')));
  const packDir = join(root, 'pack');
  const appDir = join(root, 'app');
  const dataDir = join(root, 'data');
  for (const dir of [packDir, appDir, dataDir]) mkdirSync(dir);
  log(`temp folder ${root}`);

  let app;
  const cleanup = async () => {
    if (app && !app.exit) {
      app.child.kill('SIGKILL');
      await waitForExit(app, 5_000);
    }
    for (const handle of children) handle.child.kill('SIGKILL');
    if (flags.keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
  const interrupted = (signal) => {
    process.stderr.write(`[nest12] FAIL: interrupted by ${signal}\n`);
    cleanup().finally(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const above = nestAbove(appDir);
    check(!above, `the temp folder can see NestJS packages above it (${above}); point TMPDIR outside any project`);

    const tarball = await step(flags.tarball ? 'use the given tarball' : 'npm pack (runs the prepack build)', async () => {
      if (flags.tarball) {
        const file = resolve(flags.tarball);
        check(existsSync(file), `--tarball ${file} does not exist`);
        return file;
      }
      await run('npm', ['pack', '--pack-destination', packDir], REPO_ROOT);
      const packed = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
      const expected = `${repoPackage.name}-${repoPackage.version}.tgz`;
      check(packed.length === 1 && packed[0] === expected, `npm pack produced ${JSON.stringify(packed)}, expected ${expected}`);
      return join(packDir, expected);
    });

    await step('npm ci (NestJS 12 app, its own lockfile; better-sqlite3 may compile)', async () => {
      for (const file of APP_FILES) copyFileSync(join(APP_TEMPLATE, file), join(appDir, file));
      await run('npm', ['ci', '--no-audit', '--no-fund'], appDir);
    });

    await step(`npm install --no-save ${relative(root, tarball)}`, async () => {
      await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', tarball], appDir);
    });

    const nodeModules = join(appDir, 'node_modules');
    const versions = await step('check the installed tree', async () => {
      const installedLib = join(nodeModules, 'nestjs-auto-migration');
      const libVersion = readVersion(installedLib);
      check(libVersion === repoPackage.version, `node_modules/nestjs-auto-migration is ${libVersion ?? 'missing'}, expected ${repoPackage.version} from the tarball`);
      check(existsSync(join(installedLib, 'dist', 'index.js')), 'the installed nestjs-auto-migration has no dist/index.js');

      const copies = findCopies(nodeModules, SINGLE_COPY_PACKAGES);
      for (const [name, dirs] of copies) {
        const list = [...dirs].map((d) => `${relative(appDir, d)}@${readVersion(d)}`);
        check(dirs.size === 1, `${dirs.size} copies of ${name} are installed, expected exactly 1: ${list.join(', ') || 'none'}`);
        const version = readVersion([...dirs][0]);
        check(isNest12(version), `${name} installed is ${version}, expected 12.x`);
      }
      const found = {};
      for (const name of REPORTED_PACKAGES) found[name] = readVersion(join(nodeModules, ...name.split('/'))) ?? 'missing';
      for (const name of REPORTED_PACKAGES.filter((n) => n.startsWith('@nestjs/'))) {
        check(isNest12(found[name]), `${name} installed is ${found[name]}, expected 12.x`);
      }
      return { found, copies };
    });

    const port = await step('start app.mjs (NestJS 12, ESM) and wait for it to listen', async () => {
      app = start(process.execPath, ['app.mjs'], { cwd: appDir, env: cleanEnv({ DB: join(dataDir, 'app.db'), PORT: '0' }) });
      const match = await waitForLine(app, /^LISTENING (\d+)$/m, '"LISTENING <port>"', LISTEN_TIMEOUT_MS);
      return Number(match[1]);
    });

    await step('check that the library and the app load the same @nestjs/common and @nestjs/core', async () => {
      const line = /^RUNTIME (.+)$/m.exec(app.out)?.[1];
      check(line, 'the app printed no RUNTIME line');
      const runtime = JSON.parse(line);
      const expectedEntry = realpathSync(join(nodeModules, 'nestjs-auto-migration', 'dist', 'index.js'));
      check(runtime.libraryEntry === expectedEntry, `the app loaded nestjs-auto-migration from ${runtime.libraryEntry}, expected ${expectedEntry}`);
      for (const [name, key] of [
        ['@nestjs/common', 'common'],
        ['@nestjs/core', 'core'],
      ]) {
        const seen = runtime[key];
        const where = `library: ${seen.libraryFile}@${seen.libraryVersion}; app: ${seen.appFile}@${seen.appVersion}`;
        check(seen.sameFile, `the library and the app resolve different copies of ${name} (${where})`);
        check(seen.sameNamespace, `the library's require('${name}') is not the app's import('${name}') namespace: two module instances are loaded (${where})`);
        check(seen.sameExport, `the library's ${name}.${seen.probe} is not the app's: two module instances are loaded (${where})`);
        const [installedDir] = versions.copies.get(name);
        check(seen.appFile.startsWith(installedDir + sep), `${name} was loaded from ${seen.appFile}, outside its installed copy ${installedDir}`);
        check(isNest12(seen.appVersion), `${name} loaded at runtime is ${seen.appVersion}, expected 12.x`);
      }
      versions.runtime = runtime;
    });

    const base = `http://127.0.0.1:${port}`;
    await step('GET /migrations/status', async () => {
      const res = await httpGet(`${base}/migrations/status`);
      check(res.status === 200, `GET /migrations/status answered ${res.status}, expected 200: ${brief(res.body)}`);
      const body = res.json ?? {};
      check(body.state === 'up-to-date', `status state is ${JSON.stringify(body.state)}, expected "up-to-date": ${brief(res.body)}`);
      const applied = Array.isArray(body.applied) ? body.applied.map((m) => m.name) : body.applied;
      check(JSON.stringify(applied) === JSON.stringify(EXPECTED_MIGRATIONS), `status applied ${JSON.stringify(applied)}, expected ${JSON.stringify(EXPECTED_MIGRATIONS)}`);
      check(Array.isArray(body.pending) && body.pending.length === 0, `status pending is ${JSON.stringify(body.pending)}, expected []`);
      check(body.lastError === null, `status lastError is ${JSON.stringify(body.lastError)}, expected null`);
    });

    await step('GET /health (HealthCheckService + MigrationHealthIndicator)', async () => {
      const res = await httpGet(`${base}/health`);
      check(res.status === 200, `GET /health answered ${res.status}, expected 200: ${brief(res.body)}`);
      const migrations = res.json?.info?.migrations;
      check(res.json?.status === 'ok' && migrations?.status === 'up', `GET /health did not report migrations up: ${brief(res.body)}`);
    });

    await step('GET /users (the seeded rows, through the module connection)', async () => {
      const res = await httpGet(`${base}/users`);
      check(res.status === 200, `GET /users answered ${res.status}, expected 200: ${brief(res.body)}`);
      const emails = Array.isArray(res.json) ? res.json.map((u) => u.email) : res.json;
      check(
        JSON.stringify(emails) === JSON.stringify(['ada@example.com', 'grace@example.com']),
        `GET /users returned ${brief(res.body)}, expected the two seeded users`,
      );
    });

    await step('SIGTERM the app', async () => {
      app.child.kill('SIGTERM');
      const exit = await waitForExit(app, SHUTDOWN_TIMEOUT_MS);
      check(exit, `the app did not exit within ${seconds(SHUTDOWN_TIMEOUT_MS)} of SIGTERM`);
      check(exit.signal === 'SIGTERM' || exit.code === 0, `the app exited with ${exit.code ?? exit.signal} on SIGTERM: ${lastLine(app.err)}`);
    });

    const { found, runtime } = versions;
    log('');
    log(`PASS in ${seconds(Date.now() - startedAt)} on Node ${process.version} (require(esm): ${runtime.requireModule})`);
    for (const [name, version] of Object.entries(found)) log(`  ${name.padEnd(26)} ${version}`);
    log(`  one copy of @nestjs/common and @nestjs/core installed and loaded (library require() === app import())`);
    for (const [name, ms] of timings) log(`  ${seconds(ms).padStart(7)}  ${name}`);
    const warnings = app.err.split('\n').filter((l) => l.trim());
    if (warnings.length > 0) log(`  the app wrote ${warnings.length} line(s) to stderr; first: ${warnings[0].trim()}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    if (error instanceof CheckFailure) {
      if (error.details) process.stderr.write(`${error.details.trimEnd()}\n`);
      process.stderr.write(`[nest12] FAIL: ${error.message}\n`);
    } else {
      process.stderr.write(`${error?.stack ?? error}\n[nest12] FAIL: ${error?.message ?? error}\n`);
    }
    process.exit(1);
  },
);

/**
 * Require hook for the many short-lived TypeScript processes the tests and the benchmarks spawn
 * (replicas, crash victims, CLI runs): TypeScript compiled as `ts-node/register/transpile-only`
 * does (the root tsconfig's options, one file at a time with `transpileModule`), but cached on
 * disk by path and content. Only the first process to load a file pays for loading TypeScript and
 * compiling it (about 2 s for the library under ts-node); later ones start like an app running its
 * compiled build, which is what the benchmark's W4 "including the process start" is about.
 *
 * TS_CACHE_DIR names the cache folder (bench/run.ts and Jest's global set-up make one per run and
 * remove it); without it every file is compiled in every process, as under ts-node. Plain
 * JavaScript: it is the loader.
 */
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const CACHE = process.env.TS_CACHE_DIR;
let compilerOptions;

function compile(source, fileName) {
  // Required only on a miss: skipping TypeScript's own load is most of what a hit saves.
  const ts = require('typescript');
  if (!compilerOptions) {
    const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    compilerOptions = { ...ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT).options, sourceMap: false, declaration: false };
  }
  return ts.transpileModule(source, { compilerOptions, fileName }).outputText;
}

require.extensions['.ts'] = (module, fileName) => {
  const source = readFileSync(fileName, 'utf8');
  if (!CACHE) return module._compile(compile(source, fileName), fileName);
  const cached = join(CACHE, `${createHash('sha256').update(fileName).update('\0').update(source).digest('hex')}.js`);
  let output;
  try {
    output = readFileSync(cached, 'utf8');
  } catch {
    output = compile(source, fileName);
    mkdirSync(CACHE, { recursive: true });
    // Processes compiling the same file at once each write their own temp file; rename is atomic.
    const temp = `${cached}.${process.pid}`;
    writeFileSync(temp, output);
    renameSync(temp, cached);
  }
  return module._compile(output, fileName);
};

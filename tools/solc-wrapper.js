#!/usr/bin/env node
// A native-`solc` look-alike on top of npm's solcjs, for py-solc-x and brownie.
//
// Supported, as native solc does them:
//   solc --version
//   solc --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths A,B] [-]
//     (standard JSON on stdin, standard JSON on stdout)
// Imports are resolved the way native solc does: against the base path, then
// every include path, then the working directory; absolute paths as they are.
// Any other mode exits 1 with a message, so a caller never gets a silent
// half-result.
'use strict';

const fs = require('fs');
const path = require('path');

let solc;
try {
  // Resolved from this file's folder upwards: the repo's node_modules.
  solc = require('solc');
} catch (err) {
  process.stderr.write(`solc wrapper: cannot load the npm package 'solc' (${err.message}); run 'make setup'\n`);
  process.exit(1);
}

function versionText() {
  return 'solc, the solidity compiler commandline interface\nVersion: ' +
    solc.version().replace('.Emscripten.clang', '.Linux.g++') + '\n';
}

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [], unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
      return argv[++i];
    };
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a === '--base-path') opts.basePath = value();
    else if (a.startsWith('--base-path=')) opts.basePath = a.slice('--base-path='.length);
    else if (a === '--include-path') opts.includePaths.push(value());
    else if (a.startsWith('--include-path=')) opts.includePaths.push(a.slice('--include-path='.length));
    else if (a === '--allow-paths') opts.allowPaths.push(...value().split(','));
    else if (a.startsWith('--allow-paths=')) opts.allowPaths.push(...a.slice('--allow-paths='.length).split(','));
    else if (a === '-' || a === '--pretty-json' || a === '--no-color') { /* stdin marker / cosmetics */ }
    else opts.unknown.push(a);
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [];
  if (opts.basePath) roots.push(path.resolve(opts.basePath));
  for (const p of opts.includePaths) roots.push(path.resolve(p));
  roots.push(process.cwd());
  return function findImports(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (err) {
        if (err.code !== 'ENOENT' && err.code !== 'EISDIR') return { error: `${candidate}: ${err.message}` };
      }
    }
    return { error: `File not found. Searched ${candidates.join(', ')}` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`solc wrapper: ${err.message}\n`);
    return 1;
  }
  if (opts.version) {
    process.stdout.write(versionText());
    return 0;
  }
  if (!opts.standardJson || opts.unknown.length) {
    process.stderr.write(
      'solc wrapper: only --version and --standard-json are supported' +
      (opts.unknown.length ? ` (not: ${opts.unknown.join(' ')})` : '') + '\n');
    return 1;
  }
  const input = readStdin();
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output);
  return 0;
}

// Never process.exit() after a large write: node flushes pipes asynchronously
// and would cut the JSON at 64 KiB. Setting exitCode lets the write finish.
process.exitCode = main();

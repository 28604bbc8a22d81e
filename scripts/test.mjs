#!/usr/bin/env node
// Runs every *.test.ts in the workspaces through node:test, from source via tsx
// (the `source` export condition points workspace imports at src/). One way for
// the whole repo: unit tests next to code, scenario tests under test/src.
// Usage: node scripts/test.mjs [path-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['shared', 'agent', 'hub', 'desktop', 'examples', 'test'];
const filters = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = packages
  .flatMap((p) => walk(join(root, p, 'src'), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const args = [
  '--conditions=source', '--import', 'tsx',
  '--test', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  // Per test file (each file is one test of this run): a hung file fails after 5 minutes. The longest
  // files (the arm64 tarball's cross-compile, each two-hub scenario) take 1.5-2.5 minutes on a busy box.
  '--test-timeout=300000',
  ...files,
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

#!/usr/bin/env node
// Runs every */bench/*.bench.ts (shared, agent, hub, desktop, examples, test) one
// after another through tsx from source, printing each bench's output (ratio lines
// such as "api throughput: 21,340 req/s vs floor 22,100 req/s = 0.97x (target >= 0.9)").
// `npm run bench` builds first (tsc -b) because some benches start the built dist.
// Usage: node scripts/bench.mjs [path-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['shared', 'agent', 'hub', 'desktop', 'examples', 'test'];
const filters = process.argv.slice(2);

const files = packages
  .flatMap((p) => {
    try {
      return readdirSync(join(root, p, 'bench')).filter((n) => n.endsWith('.bench.ts')).map((n) => `${p}/bench/${n}`);
    } catch {
      return [];
    }
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no bench files matched ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}

const failed = [];
for (const f of files) {
  console.log(`\n=== ${f}`);
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', f], { cwd: root, stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  console.log(`--- ${f}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0) failed.push(f);
}
if (failed.length > 0) {
  console.error(`\n${failed.length} bench(es) failed: ${failed.join(', ')}`);
  process.exit(1);
}

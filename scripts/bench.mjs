#!/usr/bin/env node
// Runs every */bench/*.bench.ts (shared, agent, hub, desktop, examples, test) one after another
// through tsx from source (`node --conditions=source --import tsx FILE`), printing a header and each
// bench's output (ratio lines such as "api throughput: 21,340 req/s vs floor 22,100 req/s = 0.97x"),
// then a summary. Each bench is bounded in time: 300 s, or what the bench declares in a comment line
// `// bench-limit-s: N` among its first 40 lines (the broker bench's 10,000 devices need more);
// BENCH_TIMEOUT_S overrides both. Past it, its whole process group is killed and it counts as failed.
// A failing bench does not stop the others; the runner exits non-zero at the end if any failed.
// `npm run bench` type-checks first (tsc -b) because some benches start the built dist.
// Usage: node scripts/bench.mjs [path-filter ...]
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['shared', 'agent', 'hub', 'desktop', 'examples', 'test'];
const filters = process.argv.slice(2);
const override = process.env.BENCH_TIMEOUT_S === undefined ? null : Number(process.env.BENCH_TIMEOUT_S);
if (override !== null && (!Number.isFinite(override) || override <= 0)) {
  console.error(`BENCH_TIMEOUT_S=${process.env.BENCH_TIMEOUT_S}: expected a positive number of seconds`);
  process.exit(2);
}

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

/** A bench's time limit in seconds: BENCH_TIMEOUT_S, else its `// bench-limit-s: N` line, else 300. */
function limitOf(f) {
  if (override !== null) return override;
  const head = readFileSync(join(root, f), 'utf8').split('\n').slice(0, 40);
  const m = head.map((l) => /^\/\/ bench-limit-s: (\d+)\s*$/.exec(l)).find(Boolean);
  return m ? Number(m[1]) : 300;
}

let current = null;
const stopCurrent = () => {
  if (current?.pid) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopCurrent();
    process.exit(130);
  });
}

const results = [];
for (const f of files) {
  const timeoutS = limitOf(f);
  console.log(`\n=== ${f} (limit ${timeoutS} s)`);
  const t0 = Date.now();
  const outcome = await new Promise((resolve) => {
    // Its own process group, so a timeout also ends whatever the bench forked.
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', f], { cwd: root, stdio: 'inherit', detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stopCurrent();
    }, timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`FAILED (${err.message})`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (timedOut) resolve(`FAILED (over the ${timeoutS} s limit, killed)`);
      else if (code === 0) resolve('ok');
      else resolve(`FAILED (${code !== null ? `exit ${code}` : `signal ${signal}`})`);
    });
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(`--- ${f}: ${outcome} in ${secs.toFixed(1)} s`);
  results.push({ f, outcome, secs });
}

console.log('\n=== summary');
for (const r of results) console.log(`${r.outcome === 'ok' ? 'ok    ' : 'FAILED'} ${r.f.padEnd(40)} ${r.secs.toFixed(1).padStart(7)} s${r.outcome === 'ok' ? '' : `  ${r.outcome}`}`);
const failed = results.filter((r) => r.outcome !== 'ok');
if (failed.length > 0) {
  console.error(`\n${failed.length} of ${results.length} bench(es) failed: ${failed.map((r) => r.f).join(', ')}`);
  process.exit(1);
}
console.log(`\nall ${results.length} bench(es) ok`);

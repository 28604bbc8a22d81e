#!/usr/bin/env node
// Runs every *.test.ts in the workspaces through node:test, built by `tsc -b` (<pkg>/dist/x.test.js for
// <pkg>/src/x.test.ts), or from source via tsx under EDGEFLEET_TEST_PROGRAMS=source (the `source` export
// condition points workspace imports at src/). One way for the whole repo: unit tests next to code (bench
// helpers' under <pkg>/bench, always from source), scenario tests under test/src.
// Usage: node scripts/test.mjs [path-filter ...]
// The longest files start first (test-order.mjs; docs/development.md "Test run time"), and trained
// example models are shared by the run's processes through EDGEFLEET_MODEL_CACHE.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { groupFiles, groupModule, mayShare } from './test-groups.mjs';
import { DEADLINE_BOUND, orderTestFiles, SLOW_FIRST, WAIT_LANE } from './test-order.mjs';

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

const files = orderTestFiles(packages
  .flatMap((p) => [...walk(join(root, p, 'src'), []), ...walk(join(root, p, 'bench'), [])])
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))));
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
// The programs tests start (hub, agent, CLIs) run built: `tsc -b` first (a no-op of ~3 s when nothing
// changed), then EDGEFLEET_TEST_PROGRAMS=built maps <pkg>/src/x.ts to <pkg>/dist/x.js (testkit/spawn.ts),
// ~0.8 s of CPU less per start than tsx. EDGEFLEET_TEST_PROGRAMS=source runs them from source instead.
const programs = process.env.EDGEFLEET_TEST_PROGRAMS ?? 'built';
if (programs === 'built') {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('tsc -b failed: the tests start built programs (EDGEFLEET_TEST_PROGRAMS=source runs them from source)');
    process.exit(1);
  }
}
// The console's browser tests serve desktop/dist/renderer from their hubs: built once here, before any
// of them runs. Each file building it again (test/src/console/helpers.ts buildRenderer) replaced the
// directory while another file's hub was serving it, and a page loaded then had no script.
const renderer = files.some((f) => f.includes(join('test', 'src', 'console')));
if (renderer) {
  const r = spawnSync(process.execPath, [join(root, 'desktop', 'scripts', 'build-renderer.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('the console renderer did not build (desktop/scripts/build-renderer.mjs): the console tests need it');
    process.exit(1);
  }
}
// The run's temp files (every test's mkdtemp(tmpdir()), the model cache, the PostgreSQL cluster) go to
// one dir, in RAM (/dev/shm) when it has room (docs/development.md "Test run time"): the files that
// write much waited on the VM's disk (the tarball install 29 s on the disk, 16 s in RAM; the 2 GiB
// backup 43 s and 11 s). What the tests check is the same: a kill -9 loses the page cache on no
// filesystem, and fsync is still called. Without the room, the dir is made in the disk's tmpdir. Either
// way it is 1777 like /tmp (the PostgreSQL cluster runs as its own user) and removed at the end with
// whatever a failed test left: a run leaves nothing in /tmp. A TMPDIR set by the caller is kept.
// The dir is named by this runner's pid: a run killed with SIGKILL leaves its dir, and the next run
// removes the dirs of runners no longer alive (a run going on beside it keeps its own).
/** True when no process has this pid (process.kill(pid, 0) says ESRCH). */
function gone(pid) {
  try { process.kill(pid, 0); return false; } catch (err) { return err.code === 'ESRCH'; }
}
function removeLeftRunDirs(parent) {
  let names = [];
  try { names = readdirSync(parent); } catch { return; }
  for (const name of names) {
    const m = /^eft-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && gone(Number(m[1]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}
/** /dev/shm when it has 8 GiB free, or else the disk's tmpdir. */
function runTmpParent() {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= 8 * 2 ** 30) return '/dev/shm';
  } catch { /* no /dev/shm */ }
  return tmpdir();
}
let runTmp = null;
if (!process.env.TMPDIR) {
  for (const parent of new Set(['/dev/shm', tmpdir()])) removeLeftRunDirs(parent);
  runTmp = mkdtempSync(join(runTmpParent(), `eft-${process.pid}-`));
  chmodSync(runTmp, 0o1777);
  process.env.TMPDIR = runTmp;
}
// The PostgreSQL backend's tests (forEachBackend, hub/src/testing/backends.ts) share one cluster for the
// run, with the hub's migrations applied once to a template, instead of an initdb, a server start and a
// migration per file. Without PostgreSQL the files start their own and each fails naming what is missing.
let pg = null;
if (programs === 'built' && files.some((f) => /\bbackends\(\)|forEachBackend\(/.test(readFileSync(join(root, f), 'utf8')))) {
  try {
    const { startSharedPostgres } = await import(pathToFileURL(join(root, 'hub', 'dist', 'testing', 'backends.js')).href);
    pg = await startSharedPostgres();
  } catch (err) {
    console.error(`# the run's PostgreSQL cluster did not start; each test file starts its own: ${err instanceof Error ? err.message : String(err)}`);
  }
}
const cache = process.env.EDGEFLEET_MODEL_CACHE ? undefined : mkdtempSync(join(tmpdir(), 'edgefleet-test-models-'));
// onnxruntime-node's telemetry (its Events SDK) writes a mat-debug-PID.log and a .ses file into the tmpdir
// of every process that loads it, and a database under ~/.cache: the tests' processes send none
// (ORT_DISABLE_TELEMETRY; a value set by the caller is kept).
const env = { ORT_DISABLE_TELEMETRY: '1', ...process.env, EDGEFLEET_TEST_PROGRAMS: programs, ...(cache ? { EDGEFLEET_MODEL_CACHE: cache } : {}), ...(renderer ? { EDGEFLEET_RENDERER_BUILT: '1' } : {}), ...(pg?.env ?? {}) };
// `node --test FILES` runs its files in sorted order whatever order they are given in; run() (in
// test-run.mjs) takes them in ours. Its test files run with this runner's flags (from source, via tsx).
// Test files run built too (<pkg>/src/x.test.ts as <pkg>/dist/x.test.js, fresh from the `tsc -b` above),
// on plain node: tsx's loader hooks cost ~0.5 s of CPU per file. The bench helpers' tests, which tsc -b
// does not build, still run from source (scripts/ts-tests.mjs).
const built = (f) => {
  const m = /^([^/]+)\/src\/(.*)\.ts$/.exec(f.split('\\').join('/'));
  return programs === 'built' && m ? join(m[1], 'dist', `${m[2]}.js`) : f;
};
// Short files share a process, eight at a time (scripts/test-groups.mjs; docs/development.md "Test run
// time"): each process's start costs ~0.5 s of CPU. TEST_SHARE_PROCESSES=0 runs every file alone.
const GROUP_SIZE = 8;
const sharing = programs === 'built' && process.env.TEST_SHARE_PROCESSES !== '0';
const listed = new Set([...SLOW_FIRST, ...WAIT_LANE, ...DEADLINE_BOUND]);
const groupDir = sharing ? mkdtempSync(join(tmpdir(), 'edgefleet-test-groups-')) : null;
const units = groupFiles(files, (f) => sharing && mayShare(f, readFileSync(join(root, f), 'utf8'), listed), GROUP_SIZE).map((u, i) => {
  if (typeof u === 'string') return built(u);
  if (u.length === 1) return built(u[0]);
  const module = join(groupDir, `shared-${String(i).padStart(3, '0')}.mjs`);
  writeFileSync(module, groupModule(u.map((f) => pathToFileURL(join(root, built(f))).href)));
  return module;
});
const flags = [...(programs === 'built' ? ['--enable-source-maps', '--import', join(root, 'scripts', 'ts-tests.mjs')] : ['--conditions=source', '--import', 'tsx']),
  // TEST_DURATIONS also gives each file's CPU time (scripts/test-cpu.mjs).
  ...(process.env.TEST_DURATIONS ? ['--import', join(root, 'scripts', 'test-cpu.mjs')] : [])];
const child = spawn(process.execPath, [...flags, join(root, 'scripts', 'test-run.mjs'), ...units], { cwd: root, stdio: 'inherit', env });
// Ctrl-C reaches the child with us (one process group); wait for it, then remove the cache.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  if (cache) rmSync(cache, { recursive: true, force: true });
  if (groupDir) rmSync(groupDir, { recursive: true, force: true });
  // The cluster's stop has its own deadline (a SIGKILL after 10 s, testing/postgres.ts).
  void (pg?.stop() ?? Promise.resolve()).finally(() => {
    if (runTmp) rmSync(runTmp, { recursive: true, force: true });
    process.exit(code ?? (signal ? 1 : 0));
  });
});

// The test run itself, started by scripts/test.mjs with the test files in the order to start them: a
// node:test run() per file, started as scripts/test-schedule.mjs says (two files at all times,
// TEST_CONCURRENCY; up to TEST_MAX_CONCURRENCY, six, while the CPU idles; docs/development.md "Test run
// time"), with a 5-minute limit per file, reported as one run (test-merge.mjs) on stdout (spec on a
// terminal, TAP otherwise, as `node --test` does) and exit code 1 on any failure. TEST_DURATIONS=FILE
// also writes each file's time (its top-level tests' durations added up), CPU time (test-cpu.mjs) and
// outcome to FILE, longest first: the figures test-order.mjs is kept from. TEST_TIMELINE=FILE writes when
// each process started and ended.
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable, finished } from 'node:stream';
import { mergeRuns } from './test-merge.mjs';
import { DEADLINE_BOUND, WAIT_LANE } from './test-order.mjs';
import { idleMeter, schedule } from './test-schedule.mjs';

// Each argument is a test file, or a module that runs several in one process (scripts/test-groups.mjs).
const files = process.argv.slice(2).map((f) => resolve(f));
const members = new Map(files.filter((f) => /\/shared-\d+\.mjs$/.test(f)).map((g) => [g,
  [...readFileSync(g, 'utf8').matchAll(/^await import\((".*")\);$/gm)].map((m) => fileURLToPath(JSON.parse(m[1])))]));
const fileCount = files.reduce((n, f) => n + (members.get(f)?.length ?? 1), 0);
// A built test file is named by its source (<pkg>/dist/x.test.js is <pkg>/src/x.test.ts) in what this
// prints; a shared process by its files.
const named = (file) => members.get(file)?.map(named).join(' + ')
  ?? relative(process.cwd(), file).replace(/^([^/]+)\/dist\/(.*)\.test\.js$/, '$1/src/$2.test.ts');
// Per test file: a hung file fails after 5 minutes. The longest files (the arm64 tarball's
// cross-compile, each two-hub scenario) take 1.5-2.5 minutes on a busy box.
const timeout = 300_000;
const base = Number(process.env.TEST_CONCURRENCY ?? 2);
const max = Math.max(base, Number(process.env.TEST_MAX_CONCURRENCY ?? base + 4));
// Where each file's process writes its CPU time at exit under TEST_DURATIONS (scripts/test-cpu.mjs).
const cpuDir = process.env.TEST_DURATIONS ? mkdtempSync(join(tmpdir(), 'test-cpu-')) : null;
if (cpuDir) process.env.TEST_CPU_DIR = cpuDir;

// The runs as they start, for mergeRuns: an async iterable that ends once the last file has started.
const startedRuns = [];
let wakeMerge = null;
let allStarted = false;
const runs = {
  async *[Symbol.asyncIterator]() {
    for (;;) {
      while (startedRuns.length > 0) yield startedRuns.shift();
      if (allStarted) return;
      await new Promise((r) => { wakeMerge = r; });
      wakeMerge = null;
    }
  },
};
const listeners = [];
const onEach = (event, listener) => { listeners.push([event, listener]); };
// TEST_TIMELINE=FILE: when each process started and ended (s since the first), to see what ran while the CPU idled.
const timeline = process.env.TEST_TIMELINE ? [] : null;
const startFile = (file) => {
  const s = run({ files: [file], timeout });
  for (const [event, listener] of listeners) s.on(event, listener);
  startedRuns.push(s);
  wakeMerge?.();
  const at = Date.now();
  return new Promise((resolve) => {
    finished(s, () => {
      timeline?.push([at, Date.now(), named(file)]);
      resolve();
    });
  });
};
if (timeline) {
  process.on('exit', () => {
    const t0 = Math.min(...timeline.map(([a]) => a));
    const rows = timeline.sort((x, y) => x[0] - y[0]).map(([a, b, n]) => `${((a - t0) / 1000).toFixed(1)}\t${((b - t0) / 1000).toFixed(1)}\t${n}`);
    writeFileSync(process.env.TEST_TIMELINE, `# started at ${new Date(t0).toISOString()} (epoch ${(t0 / 1000).toFixed(0)}); per process: start and end (s), its files\n${rows.join('\n')}\n`);
  });
}
const cpuTimes = () => {
  let idle = 0;
  let total = 0;
  for (const { times: t } of cpus()) {
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
};
const byName = (list) => new Set(files.filter((f) => list.includes(named(f))));
onEach('test:fail', () => { process.exitCode = 1; });
const report = Readable.from(mergeRuns(runs)).compose(process.stdout.isTTY ? new spec() : tap);
report.pipe(process.stdout);
// Failures again at the very end, one line each with the file and the first line of the error: a
// report's tail (all that CI shows of a long run) then names what failed, not only how many did.
const failures = [];
onEach('test:fail', (data) => {
  const err = data.details?.error;
  // A suite fails when a test in it does: name the tests, not again the suites holding them.
  if (err?.failureType === 'subtestsFailed') return;
  const cause = err?.cause ?? err;
  const message = String(cause?.message ?? cause ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  failures.push(`${data.file ? named(data.file) : '?'}: ${data.name}: ${message.slice(0, 300)}`);
});
// How the files were started (scripts/test-schedule.mjs), for tuning it: how many were added over the base.
const stats = { added: 0, most: 0 };
report.on('end', () => {
  process.stdout.write(`# ${fileCount} files in ${files.length} processes (${fileCount - files.length + members.size} of them share ${members.size}), ${base} at all times; ${stats.added} added over those while the machine idled, at most ${stats.most} at once\n`);
  if (failures.length === 0) return;
  process.stdout.write(`# ${failures.length} failed:\n${failures.map((f) => `#   ${f}`).join('\n')}\n`);
});

if (process.env.TEST_DURATIONS) {
  const started = Date.now();
  const seen = new Map();
  const note = (ok) => (data) => {
    if (!data?.file || data.nesting !== 0) return;
    const f = seen.get(data.file) ?? { s: 0, ok: true };
    f.s += (data.details?.duration_ms ?? 0) / 1000;
    if (!ok) f.ok = false;
    seen.set(data.file, f);
  };
  onEach('test:pass', note(true));
  onEach('test:fail', note(false));
  process.on('exit', () => {
    const cpu = new Map();
    for (const name of readdirSync(cpuDir)) {
      const { file, cpuSec } = JSON.parse(readFileSync(join(cpuDir, name), 'utf8'));
      cpu.set(named(resolve(file)), cpuSec);
    }
    rmSync(cpuDir, { recursive: true, force: true });
    const rows = [...seen].map(([file, f]) => [f.s, f.ok, named(file)]).sort((a, b) => b[0] - a[0]);
    const share = (s, c) => (c === undefined ? '-' : `${c.toFixed(1)}\t${s > 0 ? Math.round((100 * c) / s) : '-'}%`);
    const text = rows.map(([s, ok, file]) => `${s.toFixed(1)}\t${share(s, cpu.get(file))}\t${ok ? 'ok' : 'FAIL'}\t${file}`)
      // A shared process's CPU is its files' together: a row of its own, after the files'.
      .concat([...members.keys()].map(named).filter((n) => cpu.has(n)).map((n) => `-\t${cpu.get(n).toFixed(1)}\t-\tshared\t${n}`)).join('\n');
    writeFileSync(process.env.TEST_DURATIONS, `# ${rows.length} files, ${((Date.now() - started) / 1000).toFixed(0)} s in all; per file: its top-level tests' time (s), without the process's start; the CPU time (s) of its process and the processes it started and waited for, and that as a share of its time (WAIT_LANE in scripts/test-order.mjs: under a third)\n${text}\n`);
  });
}

// A third of the 2-core VM idle over 3 s adds a file; the one added has 5 s to start up first.
// The files start once every listener above is on (each run gets them as it starts).
schedule({
  files, start: startFile, meter: idleMeter(cpuTimes, 3), base, max,
  waiting: byName(WAIT_LANE), deadline: byName(DEADLINE_BOUND), idleAtLeast: 0.33, settleMs: 5000, stats,
}).then(() => {
  allStarted = true;
  wakeMerge?.();
});

// scripts/test-merge.mjs: the node:test runs of `npm test` (one per test file, started as
// scripts/test-schedule.mjs says; docs/development.md "Test run time") reported as one. A top-level test's
// events must not be cut into by another run's (the spec reporter asserts each pass matches the start
// before it; TAP nests by order), top-level tests are numbered once across all, and the closing plan and
// counts are given once, added up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { spec, tap } from 'node:test/reporters';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '@edgefleet/examples';

interface TestEvent { type: string; data: Record<string, unknown> }
type Merge = (runs: AsyncIterable<TestEvent>[] | AsyncIterable<AsyncIterable<TestEvent>>) => AsyncGenerator<TestEvent>;
const { mergeRuns } = await import(pathToFileURL(join(repoRoot(), 'scripts', 'test-merge.mjs')).href) as { mergeRuns: Merge };

const execFileP = promisify(execFile);

const ev = (type: string, nesting: number, name?: string, extra: Record<string, unknown> = {}): TestEvent =>
  ({ type, data: { nesting, ...(name ? { name, file: `/x/${name}.test.js` } : {}), ...extra } });

/** Yields `events`, waiting for `gate` before those from index `at`. */
async function* source(events: TestEvent[], gate?: { at: number; until: Promise<void> }): AsyncGenerator<TestEvent> {
  for (const [i, e] of events.entries()) {
    if (gate && i === gate.at) await gate.until;
    yield e;
  }
}

async function report(events: AsyncIterable<TestEvent>, reporter: 'spec' | 'tap'): Promise<string> {
  let text = '';
  for await (const chunk of Readable.from(events).compose(reporter === 'spec' ? new spec() : tap)) text += String(chunk);
  return text;
}

test('a top-level test of one run is not cut into by the other, whose test ends meanwhile', async () => {
  let release!: () => void;
  const until = new Promise<void>((r) => { release = r; });
  // Run a: a suite whose subtest has started and not ended when run b's test ends; then the rest.
  const a = source([
    ev('test:start', 0, 'suite'), ev('test:start', 1, 'inner'),
    ev('test:pass', 1, 'inner', { testNumber: 1, details: { duration_ms: 1 } }), ev('test:plan', 1, undefined, { count: 1 }),
    ev('test:pass', 0, 'suite', { testNumber: 1, details: { duration_ms: 1 } }),
    ev('test:plan', 0, undefined, { count: 1 }), ev('test:diagnostic', 0, undefined, { message: 'tests 1' }),
  ], { at: 2, until });
  async function* b(): AsyncGenerator<TestEvent> {
    yield ev('test:start', 0, 'other');
    yield ev('test:fail', 0, 'other', { testNumber: 1, details: { duration_ms: 1, error: new Error('no') } });
    release();
    yield ev('test:plan', 0, undefined, { count: 1 });
    yield ev('test:diagnostic', 0, undefined, { message: 'tests 1' });
  }
  const merged: TestEvent[] = [];
  for await (const e of mergeRuns([a, b()])) merged.push(e);
  const names = merged.map((e) => `${e.type} ${String(e.data.name ?? e.data.count ?? e.data.message)}`);
  assert.deepEqual(names, [
    'test:start other', 'test:fail other',
    'test:start suite', 'test:start inner', 'test:pass inner', 'test:plan 1', 'test:pass suite',
    'test:plan 2', 'test:diagnostic tests 2',
  ]);
  assert.deepEqual(merged.filter((e) => e.data.nesting === 0 && /pass|fail/.test(e.type)).map((e) => e.data.testNumber), [1, 2]);
  // What spec asserts (a pass matching its start) holds: it reports both.
  const text = await report(source(merged), 'spec');
  assert.match(text, /✖ other/);
  assert.match(text, /▶ suite[\s\S]*✔ inner/);
});

test('runs given as they start, one after the other has ended: all merged, counts added, the time the whole', async () => {
  const one = (name: string) => source([
    ev('test:start', 0, name), ev('test:pass', 0, name, { testNumber: 1, details: { duration_ms: 1 } }),
    ev('test:plan', 0, undefined, { count: 1 }), ev('test:diagnostic', 0, undefined, { message: 'tests 1' }),
    ev('test:diagnostic', 0, undefined, { message: 'duration_ms 5' }),
  ]);
  async function* starts(): AsyncGenerator<AsyncIterable<TestEvent>> {
    yield one('first');
    await new Promise((r) => setTimeout(r, 50)); // the first run ends meanwhile
    yield one('second');
  }
  const merged: TestEvent[] = [];
  for await (const e of mergeRuns(starts())) merged.push(e);
  assert.deepEqual(merged.filter((e) => e.type === 'test:pass').map((e) => [e.data.name, e.data.testNumber]), [['first', 1], ['second', 2]]);
  const tail = merged.slice(-3).map((e) => String(e.data.count ?? e.data.message));
  assert.deepEqual(tail.slice(0, 2), ['2', 'tests 2']);
  const ms = Number(/^duration_ms (\d+)$/.exec(tail[2]!)?.[1]);
  assert.ok(ms >= 50, `the whole merge's time, not a run's 5 ms: ${tail[2]}`);
});

test('two real runs read as one by spec and tap: every file reported, numbered once, counts added up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-test-merge-'));
  try {
    const file = (name: string, body: string) => {
      writeFileSync(join(dir, name), `import { describe, it, test } from 'node:test';\n${body}\n`);
      return join(dir, name);
    };
    const cpu = [
      file('a.test.mjs', "describe('a suite', () => { for (let i = 0; i < 3; i++) it(`a${i}`, async () => { await new Promise((r) => setTimeout(r, 20)); }); });"),
      file('b.test.mjs', "test('b fails', () => { throw new Error('boom'); });"),
    ];
    const waiting = [file('w.test.mjs', "describe('w suite', () => { it('w1', async () => { await new Promise((r) => setTimeout(r, 30)); }); it('w2', () => {}); });")];
    // run() does nothing inside a test file's process (NODE_TEST_CONTEXT): a program of its own runs both.
    const driver = join(dir, 'driver.mjs');
    writeFileSync(driver, [
      "import { run } from 'node:test';",
      "import { spec, tap } from 'node:test/reporters';",
      "import { Readable } from 'node:stream';",
      `import { mergeRuns } from ${JSON.stringify(pathToFileURL(join(repoRoot(), 'scripts', 'test-merge.mjs')).href)};`,
      `const runs = [run({ files: ${JSON.stringify(cpu)}, concurrency: 2 }), run({ files: ${JSON.stringify(waiting)}, concurrency: 1 })];`,
      "Readable.from(mergeRuns(runs)).compose(process.argv[2] === 'spec' ? new spec() : tap).pipe(process.stdout);",
    ].join('\n'));
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const report = async (reporter: string) => (await execFileP(process.execPath, [driver, reporter], { env })).stdout;
    const text = await report('tap');
    const top = text.split('\n').filter((l) => /^(not )?ok \d+ /.test(l));
    assert.deepEqual(top.map((l) => Number(/^(?:not )?ok (\d+)/.exec(l)![1])), [1, 2, 3], text);
    assert.deepEqual(top.map((l) => l.replace(/^(not )?ok \d+ - /, '')).sort(), ['a suite', 'b fails', 'w suite']);
    assert.deepEqual(text.split('\n').filter((l) => /^1\.\.\d+$/.test(l)), ['1..3'], 'one closing plan');
    assert.match(text, /^# tests 6$/m);
    assert.match(text, /^# suites 2$/m);
    assert.match(text, /^# pass 5$/m);
    assert.match(text, /^# fail 1$/m);
    assert.equal(text.match(/^# tests /gm)?.length, 1, 'one set of counts');
    const specText = await report('spec');
    assert.match(specText, /ℹ tests 6/);
    assert.match(specText, /failing tests:[\s\S]*b fails/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

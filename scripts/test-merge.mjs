// node:test runs going on at once (scripts/test-run.mjs starts one per test file, scripts/test-schedule.mjs
// says when; docs/development.md "Test run time") reported as one: the events of all, in one stream a
// reporter (spec, tap) reads as it reads a single run's.
// - A top-level test's events (its start, its subtests', its plan) go out together, ended by its pass or
//   fail: the spec reporter asserts that each pass or fail matches the start before it, and TAP nests by
//   order, so one run's test may not be cut into by another's.
// - Top-level tests are numbered again across all (each run counts from 1).
// - Each run's closing plan and counts (`1..N`, `# tests N`, `# pass N`, ...) are held back and given
//   once, added up, when every run has ended; `duration_ms` is then the time since the merge began.

/** The root's closing counts: a top-level diagnostic with no file, `name number`. */
const COUNT = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const COUNT_ORDER = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** Whether `event` is one of a run's closing plan and counts (the root's, not a file's). */
function closing({ type, data }) {
  if (data?.nesting !== 0 || data.file !== undefined) return false;
  return type === 'test:plan' || (type === 'test:diagnostic' && COUNT.test(String(data.message)));
}

/**
 * One stream of events from `runs` (node:test `run()` streams: an array, or an async iterable giving them
 * as they start): an async generator for `Readable.from`. Events that do not report (enqueue, dequeue,
 * complete) pass as they come.
 */
export async function* mergeRuns(runs) {
  const began = Date.now();
  const out = [];
  let wake = null;
  const push = (events) => {
    out.push(...events);
    wake?.();
  };
  let plan = 0;
  const counts = new Map();
  let topLevel = 0;
  const consume = async (run) => {
    let block = [];
    let open = false; // a top-level test of this run has started and not ended
    for await (const event of run) {
      const { type, data } = event;
      if (closing(event)) {
        if (type === 'test:plan') plan += data.count;
        else {
          const [, name, n] = COUNT.exec(data.message);
          if (name !== 'duration_ms') counts.set(name, (counts.get(name) ?? 0) + Number(n));
          else counts.set(name, null);
        }
        continue;
      }
      if (type === 'test:enqueue' || type === 'test:dequeue' || type === 'test:complete') {
        push([event]);
        continue;
      }
      const ends = (type === 'test:pass' || type === 'test:fail') && data.nesting === 0;
      if (ends) event.data = { ...data, testNumber: ++topLevel };
      if (type === 'test:start' && data.nesting === 0) open = true;
      if (!open) {
        push([event]);
        continue;
      }
      block.push(event);
      if (ends) {
        open = false;
        push(block);
        block = [];
      }
    }
    push(block);
  };
  const done = [];
  const added = (async () => {
    for await (const run of runs) done.push(consume(run));
  })();
  let ended = false;
  const end = () => {
    ended = true;
    wake?.();
  };
  // Every run has been added once `added` settles; the last ones may still be going.
  added.then(() => Promise.all(done)).then(end, end);
  for (;;) {
    while (out.length > 0) yield out.shift();
    if (ended) break;
    await new Promise((r) => { wake = r; });
    wake = null;
  }
  await added;
  await Promise.all(done); // a run's error, if any, ends the report with it
  yield { type: 'test:plan', data: { nesting: 0, count: plan } };
  for (const name of COUNT_ORDER) {
    if (!counts.has(name)) continue;
    const n = name === 'duration_ms' ? Date.now() - began : counts.get(name);
    yield { type: 'test:diagnostic', data: { nesting: 0, message: `${name} ${n}` } };
  }
}

// scripts/test-schedule.mjs: when `npm test` starts each test file (docs/development.md "Test run time").
// Two files at all times, more while the machine idles, the waiting files added first, and a file with a
// short deadline beside one other file at most.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '@edgefleet/examples';

interface Limits {
  base: number; max: number; waiting: Set<string>; deadline: Set<string>; idleAtLeast: number; settleMs: number;
}
interface Meter { sample(): number | null }
interface Schedule {
  nextFile(a: Limits & { pending: string[]; running: string[]; idle: number | null; sinceAddedMs: number }): string | null;
  idleMeter(times: () => { idle: number; total: number }, windowSamples: number): Meter;
  schedule(a: Limits & { files: string[]; start(f: string): Promise<void>; meter: Meter; now?: () => number; tickMs?: number; stats?: { added: number; most: number } }): Promise<void>;
}
const { nextFile, idleMeter, schedule } = await import(pathToFileURL(join(repoRoot(), 'scripts', 'test-schedule.mjs')).href) as Schedule;

const limits: Limits = { base: 2, max: 4, waiting: new Set(['w1', 'w2']), deadline: new Set(['d1']), idleAtLeast: 0.33, settleMs: 5000 };
const ask = (pending: string[], running: string[], idle: number | null, sinceAddedMs = 60_000) =>
  nextFile({ ...limits, pending, running, idle, sinceAddedMs });

test('the base slots are filled in order whatever the machine does', () => {
  assert.equal(ask(['a', 'b'], [], 0), 'a');
  assert.equal(ask(['d1', 'b'], ['x'], 0), 'd1', 'a deadline-bound file may take a base slot');
  assert.equal(ask([], ['x'], 1), null);
});

test('beside a deadline-bound file, a base slot takes the next file that is not one (two of them idled the machine)', () => {
  const two = { ...limits, deadline: new Set(['d1', 'd2']) };
  const next = (pending: string[], running: string[]) => nextFile({ ...two, pending, running, idle: 0, sinceAddedMs: 60_000 });
  assert.equal(next(['d2', 'a', 'b'], ['d1']), 'a');
  assert.equal(next(['d2'], ['d1']), 'd2', 'only deadline-bound files left: they run two at a time');
  assert.equal(next(['d2', 'a'], ['x']), 'd2', 'in order beside a file of another kind');
});

test('a file over the base is added only while the machine idles, and not again before the last one settled', () => {
  assert.equal(ask(['a', 'b'], ['x', 'y'], 0.2), null, 'busy');
  assert.equal(ask(['a', 'b'], ['x', 'y'], null), null, 'not measured yet');
  assert.equal(ask(['a', 'b'], ['x', 'y'], 0.5, 4999), null, 'the last file added is still starting');
  assert.equal(ask(['a', 'b'], ['x', 'y'], 0.5), 'a');
  assert.equal(ask(['a', 'b'], ['x', 'y', 'z', 'v'], 0.9), null, 'at the most');
});

test('the waiting files are added first; a deadline-bound file is never added, and none is added beside one', () => {
  assert.equal(ask(['a', 'w2', 'b'], ['x', 'y'], 0.5), 'w2');
  assert.equal(ask(['d1', 'b'], ['x', 'y'], 0.9), 'b');
  assert.equal(ask(['d1'], ['x', 'y'], 0.9), null);
  assert.equal(ask(['a'], ['d1', 'y'], 0.9), null, 'a deadline-bound file runs beside one other at most');
});

test('the idle share is measured over the last samples only', () => {
  let t = { idle: 0, total: 0 };
  const m = idleMeter(() => t, 2);
  t = { idle: 10, total: 100 };
  assert.equal(m.sample(), 0.1);
  t = { idle: 110, total: 200 };
  assert.equal(m.sample(), 0.55, 'two intervals: 110 of 200');
  t = { idle: 210, total: 300 };
  assert.equal(m.sample(), 1, 'the first interval dropped: 200 of 200');
});

test('schedule: every file runs once, two at a time while busy, more once idle, and it ends when the last does', async () => {
  const files = ['a', 'b', 'c', 'w1', 'd1', 'e'];
  let idle: number | null = 0;
  let clock = 0;
  const running = new Set<string>();
  const ends = new Map<string, () => void>();
  const ran: string[] = [];
  let most = 0;
  const start = (f: string) => new Promise<void>((resolve) => {
    assert.ok(!ran.includes(f), `${f} started twice`);
    ran.push(f);
    running.add(f);
    most = Math.max(most, running.size);
    ends.set(f, () => { running.delete(f); resolve(); });
  });
  const tick = () => new Promise((r) => setTimeout(r, 20));
  const stats = { added: 0, most: 0 };
  const done = schedule({ ...limits, files, start, meter: { sample: () => idle }, now: () => clock, tickMs: 2, stats });
  await tick();
  assert.deepEqual([...running], ['a', 'b'], 'busy: the two base slots only');
  idle = 0.8;
  clock = 10_000;
  await tick();
  assert.deepEqual([...running], ['a', 'b', 'w1'], 'idle: the waiting file added, one only until it settled');
  clock = 20_000;
  await tick();
  assert.deepEqual([...running], ['a', 'b', 'w1', 'c'], 'settled and still idle: one more, up to four');
  idle = 0;
  ends.get('a')!();
  ends.get('b')!();
  ends.get('w1')!();
  await tick();
  assert.deepEqual([...running], ['c', 'd1'], 'back to two; the deadline-bound file in a base slot');
  idle = 0.9;
  clock = 40_000;
  await tick();
  assert.deepEqual([...running], ['c', 'd1'], 'nothing added beside it');
  ends.get('d1')!();
  await tick();
  assert.deepEqual([...running], ['c', 'e']);
  let ended = false;
  const watched = done.then(() => { ended = true; });
  ends.get('c')!();
  await tick();
  assert.equal(ended, false, 'e still runs');
  ends.get('e')!();
  await watched;
  assert.deepEqual(ran.sort(), [...files].sort());
  assert.equal(most, 4);
  assert.deepEqual(stats, { added: 2, most: 4 }, 'w1 and c added over the two');
});

test('schedule of no files ends at once', async () => {
  await schedule({ ...limits, files: [], start: () => Promise.reject(new Error('none to start')), meter: { sample: () => 1 } });
});

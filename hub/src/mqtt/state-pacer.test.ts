// State reports paced by their bytes per device (state-pacer.ts, docs/mqtt.md "State reports"): a fake
// clock drives the buckets; the held report's timer is a real one (a few milliseconds here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StatePacer, STATE_BURST_REPORTS } from './state-pacer.js';

const MAX = 1000;

function setup(o: { rate?: number; maxHeld?: number } = {}) {
  let now = 0;
  const handled: string[] = [];
  const pacer = new StatePacer({ maxStateBytes: MAX, stateBytesPerSec: o.rate ?? 100_000 }, (topic, payload) => handled.push(`${topic} ${payload.toString()}`), () => now, o.maxHeld);
  const report = (label: string, bytes = MAX) => Buffer.from(label.padEnd(bytes, '.'));
  return { pacer, handled, report, advance: (ms: number) => { now += ms; } };
}

test('a report over maxStateBytes is refused; one at it is taken', () => {
  const s = setup();
  assert.equal(s.pacer.offer('d', 't', s.report('a', MAX + 1)), 'too_large');
  assert.equal(s.pacer.offer('d', 't', s.report('a', MAX)), 'now');
});

test('past the burst the newest report waits, replacing an older one waiting, and is handled once the rate allows', async () => {
  const s = setup({ rate: 100_000 }); // 1,000 bytes every 10 ms
  for (let i = 0; i < STATE_BURST_REPORTS; i++) assert.equal(s.pacer.offer('d', 't', s.report(`r${i}`)), 'now', `report ${i} within the burst`);
  assert.equal(s.pacer.offer('d', 't', s.report('held-1')), 'held');
  assert.equal(s.pacer.offer('d', 't', s.report('held-2')), 'held');
  assert.deepEqual(s.pacer.holding(), { reports: 1, bytes: MAX });
  assert.deepEqual(s.pacer.stats, { held: 2, replaced: 1 });
  // Another device is not held back by this one.
  assert.equal(s.pacer.offer('e', 't', s.report('other')), 'now');
  s.advance(10);
  await sleep(40);
  assert.deepEqual(s.handled.map((h) => h.slice(0, 8)), ['t held-2'], 'only the newest, once');
  assert.deepEqual(s.pacer.holding(), { reports: 0, bytes: 0 });
});

test('windows flush a held report first, unless the device is a burst in debt', () => {
  const s = setup({ rate: 1000 }); // a report a second: nothing is released by a timer during the test
  for (let i = 0; i < STATE_BURST_REPORTS; i++) s.pacer.offer('d', 't', s.report(`r${i}`));
  // Each flush pays by going into debt, down to one burst: STATE_BURST_REPORTS more reports.
  for (let i = 0; i < STATE_BURST_REPORTS; i++) {
    assert.equal(s.pacer.offer('d', 't', s.report(`f${i}`)), 'held');
    s.pacer.flush('d');
    assert.equal(s.handled.at(-1)?.slice(0, 4), `t f${i}`, `flush ${i} handled it`);
  }
  assert.equal(s.pacer.offer('d', 't', s.report('late')), 'held');
  s.pacer.flush('d');
  assert.equal(s.handled.length, STATE_BURST_REPORTS, 'a burst in debt: the report keeps waiting for the rate');
  assert.equal(s.pacer.holding().reports, 1);
  s.pacer.stop();
  assert.deepEqual(s.pacer.holding(), { reports: 0, bytes: 0 });
});

test('held bytes are bounded: past maxHeldBytes a report is handled at once instead of held', () => {
  const s = setup({ rate: 1000, maxHeld: 2 * MAX });
  const devices = ['a', 'b', 'c'];
  for (const d of devices) for (let i = 0; i < STATE_BURST_REPORTS; i++) s.pacer.offer(d, 't', s.report(`${d}${i}`));
  assert.equal(s.pacer.offer('a', 't', s.report('a-held')), 'held');
  assert.equal(s.pacer.offer('b', 't', s.report('b-held')), 'held');
  assert.deepEqual(s.pacer.holding(), { reports: 2, bytes: 2 * MAX }, 'at the bound');
  assert.equal(s.pacer.offer('c', 't', s.report('c-now')), 'now', 'over it: handled at once');
  assert.equal(s.pacer.offer('a', 't', s.report('a-newer')), 'held', 'a replacement adds no bytes');
  assert.deepEqual(s.pacer.holding(), { reports: 2, bytes: 2 * MAX });
  s.pacer.stop();
});

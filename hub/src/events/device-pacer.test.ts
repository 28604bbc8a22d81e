// The pacer of a device's bus events (device-pacer.ts) on a fake clock: the first event of a device at once,
// the newest of the rest when the interval ends, devices apart; what it remembers is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { DeviceEventPacer } from './device-pacer.js';

test('device event pacer: first at once, the newest of an interval at its end, devices apart, memory bounded', async () => {
  let now = 0;
  const got: Array<[string, number]> = [];
  const p = new DeviceEventPacer<number>((id, n) => got.push([id, n]), 20, () => now);
  p.offer('a', 1);
  p.offer('a', 2);
  p.offer('a', 3);
  p.offer('b', 1);
  assert.deepEqual(got, [['a', 1], ['b', 1]]);
  assert.deepEqual(p.sizes, { waiting: 1, remembered: 2 });
  now = 20;
  await waitFor('the newest of a\'s interval published at its end', () => got.length >= 3 || undefined, { timeoutMs: 10_000 });
  assert.deepEqual(got, [['a', 1], ['b', 1], ['a', 3]]);
  assert.equal(p.sizes.waiting, 0);

  // It remembers the devices of the last interval: 10,000 at once, then none of them an interval later.
  for (let i = 0; i < 10_000; i++) p.offer(`d${i}`, 0);
  assert.deepEqual(p.sizes, { waiting: 0, remembered: 10_001 }, 'the 10,000 and a (published at 20); b forgotten');
  now = 1000;
  p.offer('late', 0);
  assert.deepEqual(p.sizes, { waiting: 0, remembered: 1 });

  p.offer('late', 1);
  p.stop();
  p.offer('late', 2);
  assert.deepEqual(p.sizes, { waiting: 0, remembered: 0 });
  assert.deepEqual(got.at(-1), ['late', 0], 'nothing after stop');
});

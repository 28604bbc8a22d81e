// Cohorts (pure): places are stable, spread over [0, 100), and waves nest; minDevices tops a wave up;
// a device joining takes its place without moving anyone else into an earlier wave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place, waveOf } from './cohort.js';

const waves = [{ name: 'canary', percent: 5, minDevices: 3, bakeSec: 0 }, { name: 'half', percent: 50, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }];

test('a place is a stable hash of (rollout, device) in [0, 100), different per rollout', () => {
  assert.equal(place('ro-1', 'dev-1'), place('ro-1', 'dev-1'));
  assert.notEqual(place('ro-1', 'dev-1'), place('ro-2', 'dev-1'));
  const ps = Array.from({ length: 10_000 }, (_, i) => place('ro-1', `dev-${i}`));
  assert.ok(ps.every((p) => p >= 0 && p < 100));
  const below10 = ps.filter((p) => p < 10).length;
  assert.ok(below10 > 900 && below10 < 1100, `${below10} of 10,000 below 10`);
});

test('waves nest, take their percent, and minDevices tops the first wave up', () => {
  const devices = Array.from({ length: 1000 }, (_, i) => ({ deviceId: `d-${i}`, place: place('ro-x', `d-${i}`) }));
  const w = waveOf(devices, waves);
  const count = (k: number) => [...w.values()].filter((x) => x <= k).length;
  assert.equal(count(0), devices.filter((d) => d.place < 5).length);
  assert.equal(count(1), devices.filter((d) => d.place < 50).length);
  assert.equal(count(2), 1000);
  for (const d of devices) assert.equal(w.get(d.deviceId), d.place < 5 ? 0 : d.place < 50 ? 1 : 2);
  const few = devices.slice(0, 10);
  const wf = waveOf(few, waves);
  assert.equal([...wf.values()].filter((x) => x === 0).length, Math.max(3, few.filter((d) => d.place < 5).length), 'at least minDevices in the canary');
});

test('a device joining lands in its place: nobody else moves to an earlier wave', () => {
  const devices = Array.from({ length: 200 }, (_, i) => ({ deviceId: `d-${i}`, place: place('ro-y', `d-${i}`) }));
  const before = waveOf(devices, waves);
  const joined = { deviceId: 'late', place: place('ro-y', 'late') };
  const after = waveOf([...devices, joined], waves);
  for (const d of devices) assert.ok((after.get(d.deviceId) as number) >= (before.get(d.deviceId) as number) || (before.get(d.deviceId) as number) === 0, d.deviceId);
  assert.equal(after.get('late'), joined.place < 5 ? 0 : joined.place < 50 ? 1 : 2);
});

test('a ring takes its tagged devices whatever their place; the percent waves share out the rest, nobody twice', () => {
  const devices = Array.from({ length: 1000 }, (_, i) => ({ deviceId: `d-${i}`, place: place('ro-z', `d-${i}`) }));
  const staging = new Set(devices.filter((_, i) => i % 25 === 0).map((d) => d.deviceId));
  const tagsOf = (id: string) => (staging.has(id) ? { env: 'staging', site: 'a' } : { env: 'prod', site: 'a' });
  const ringed = [{ name: 'staging', tags: { env: 'staging' }, bakeSec: 0 }, ...waves];
  const w = waveOf(devices, ringed, tagsOf);
  assert.equal(w.size, 1000);
  for (const d of devices) {
    const expected = staging.has(d.deviceId) ? 0 : d.place < 5 ? 1 : d.place < 50 ? 2 : 3;
    assert.equal(w.get(d.deviceId), expected, d.deviceId);
  }
  // Without tags known (or none matching) the ring is empty and the percent waves are as before.
  const none = waveOf(devices, ringed);
  assert.equal([...none.values()].filter((k) => k === 0).length, 0);
  assert.deepEqual([...none.values()].filter((k) => k === 1).length, [...waveOf(devices, waves).values()].filter((k) => k === 0).length);
});

test('a percent wave takes the devices placed below its percent, a draw per rollout id, not the percent of the count rounded (docs/rollouts.md "Cohorts")', () => {
  // The probe's canary: 34 % at least 1 over 3 devices. 34 % of 3 is 1.02: rounding would always take 1 (or 2 up).
  const canary = [{ name: 'canary', percent: 34, minDevices: 1, bakeSec: 0 }, { name: 'all', percent: 100, bakeSec: 0 }];
  const seen = new Map<number, number>();
  for (let i = 0; i < 1000; i++) {
    const devices = ['edge-1', 'edge-2', 'edge-3'].map((d) => ({ deviceId: d, place: place(`ro-${i}`, d) }));
    const n = [...waveOf(devices, canary).values()].filter((k) => k === 0).length;
    assert.equal(n, Math.max(1, devices.filter((d) => d.place < 34).length), `ro-${i}`);
    seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  // Each device below 34 with chance 0.34: 1 device (none or one below) 73 %, 2 devices 23 %, 3 devices 4 % of ids.
  const share = (n: number) => (seen.get(n) ?? 0) / 1000;
  assert.ok(Math.abs(share(1) - 0.732) < 0.05 && Math.abs(share(2) - 0.229) < 0.05 && Math.abs(share(3) - 0.039) < 0.03, JSON.stringify([...seen]));
});

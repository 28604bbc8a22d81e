// Days minus hours (day-minus-hours.ts) against plain hourly scans: each device's counts and bins over
// ranges not aligned to days are the same either way, with fewer rows read; and the worst-device PSI
// read in place (drift/compute.ts worstFeature) equals shared `psi` (a real hub.db in a temp dir).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { psi, type Feature, type Reference, type SummaryWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { DAY_SEC, HOUR_SEC } from '../store/rollups-repo.js';
import { collect, planRanges } from './query.js';
import { dayMinusHours, deviceCounts } from './day-minus-hours.js';
import { expectedFromReference, worstFeature } from '../drift/compute.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from './testing.js';

const FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' },
  { name: 'mode', index: 1, kind: 'categorical', vocabulary: ['idle', 'run', 'stop'] },
];
const REFERENCE: Reference = {
  id: 'c'.repeat(64), rows: 672,
  features: [numericReference('temp'), { kind: 'categorical', name: 'mode', counts: { idle: 300, run: 300, stop: 72 }, other: 0 }],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.5, 1], counts: [1, 1], under: 0, over: 0 }],
};
const H = 3600_000;
const DAY0 = Date.parse('2026-11-28T00:00:00Z');

test('a 24-hour range off the day boundary reads a day, minus one hour, plus one hour', () => {
  assert.deepEqual(dayMinusHours(planRanges(DAY0 + H, DAY0 + 25 * H).ranges), [
    { grain: DAY_SEC, from: DAY0, to: DAY0 + 24 * H, sign: 1 },
    { grain: HOUR_SEC, from: DAY0, to: DAY0 + H, sign: -1 },
    { grain: HOUR_SEC, from: DAY0 + 24 * H, to: DAY0 + 25 * H, sign: 1 },
  ]);
  // Half a day or less stays in hours.
  assert.deepEqual(dayMinusHours(planRanges(DAY0 + 3 * H, DAY0 + 15 * H).ranges), [{ grain: HOUR_SEC, from: DAY0 + 3 * H, to: DAY0 + 15 * H, sign: 1 }]);
});

test('each device\'s counts over days minus hours equal the sums of its hourly rollups, and worstFeature equals psi', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-daymh-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    registerVersion(store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const rand = seeded(5);
    const windows = new Map<string, SummaryWindow[]>();
    // d0, d1 every 40 minutes for 2 days; d2 only in the first hour of each day (outside most ranges below).
    for (let t = DAY0; t < DAY0 + 48 * H; t += 40 * 60_000) {
      for (const d of ['d0', 'd1', 'd2']) {
        if (d === 'd2' && t % (24 * H) >= H) continue;
        const w = sampleWindow({ model: 'vib', version: '1.0.0', start: t }, FEATURES, REFERENCE, 5 + Math.floor(rand() * 20), {
          numeric: { temp: normal(rand, d === 'd1' ? 8 : 5, 1.5) },
          categorical: { mode: () => (['idle', 'run', 'stop', 'new'] as const)[Math.floor(rand() * 4)] as string },
          outputs: { score: rand },
        }, rand);
        windows.set(d, [...(windows.get(d) ?? []), w]);
      }
    }
    store.db.transaction(() => { for (const [d, ws] of windows) store.rollups.applyWindows(d, ws); })();
    const s = store.rollups.requireSeries('vib', '1.0.0');
    const exp = expectedFromReference(s.layout, REFERENCE);
    for (const [from, to] of [[DAY0 + H, DAY0 + 25 * H], [DAY0 + 2 * H, DAY0 + 47 * H], [DAY0 + 5 * H, DAY0 + 9 * H], [DAY0, DAY0 + 48 * H]] as const) {
      const plan = planRanges(from, to);
      const fast = deviceCounts(store.rollups, s, plan);
      const slow = collect(store.rollups, s, { ...plan, ranges: [{ grain: HOUR_SEC, from: plan.since, to: plan.until }] }, { dist: true, errors: false, keyOf: (r) => r.deviceId });
      const what = `${new Date(from).toISOString()}..${new Date(to).toISOString()}`;
      assert.deepEqual([...fast.keys()].sort(), [...slow.keys()].sort(), `devices over ${what}`);
      for (const [id, g] of slow) {
        const f = fast.get(id)?.values;
        assert.ok(f, `${id} over ${what}`);
        assert.deepEqual({ windows: f.windows, count: f.count, errModel: f.errModel }, { windows: g.values.windows, count: g.values.count, errModel: g.values.errModel }, `${id} totals over ${what}`);
        assert.deepEqual(Array.from(f.dist), Array.from(g.values.dist), `${id} bins over ${what}`);
        // worstFeature against shared psi on copies of each feature's bins.
        const byPsi = s.layout.features.map((slot, i) => {
          const len = slot.kind === 'categorical' ? slot.vocabulary.length + 1 : slot.bins + 2;
          return { psi: psi(exp.features[i]?.dist as number[], Array.from(f.dist.subarray(slot.offset, slot.offset + len))), feature: slot.name };
        }).reduce((a, b) => (b.psi > a.psi ? b : a));
        assert.deepEqual(worstFeature(s.layout, f, exp), byPsi, `${id} worst feature over ${what}`);
      }
    }
    // d2 reported only in hour 00 of each day: a range from 01:00 to 01:00 has its second day's hour only.
    const d2 = deviceCounts(store.rollups, s, planRanges(DAY0 + H, DAY0 + 25 * H)).get('d2');
    assert.equal(d2?.values.windows, (windows.get('d2') ?? []).filter((w) => Date.parse(w.start) >= DAY0 + 24 * H && Date.parse(w.start) < DAY0 + 25 * H).length);
    assert.equal(deviceCounts(store.rollups, s, planRanges(DAY0 + 2 * H, DAY0 + 23 * H)).has('d2'), false);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

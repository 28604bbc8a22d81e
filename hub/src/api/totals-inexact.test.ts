// Fleet reads over sums past 2^53 - 1 (docs/hub.md "REST API", docs/decisions/0086-a-device-claims-its-time-once.md):
// windows stored before the hub bounded the time a device claims (or a fleet large and old enough) sum
// past where floats stop being exact. GET /models/{name}/totals answered 400 to every caller; it now
// answers with the sums and names the inexact ones (metrics and drift: hub/src/ingest/overlap-ingest.test.ts).
// A real hub.db (makeHarness) and the REST app.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, type ModelTotals, type SeqWindow } from '@edgefleet/shared';
import { makeHarness, type Harness } from '../testing/harness.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** Each window's count is a safe integer; three of them are not. */
const BIG = 4e15;

function win(seq: number, count: number): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = count;
  return {
    seq, model: 'vib', version: '1.0.0', start: new Date(T0 + seq * 60_000).toISOString(), lengthSec: 60, count, errors: {},
    latency: { ...latency, sumMs: count }, outputs: [], inputs: [],
    features: [{ kind: 'numeric', name: 'rms', hist: { counts: [count, 0], under: 0, over: 0 }, moments: { n: count, mean: 1, m2: 0, min: 1, max: 1 }, nulls: 0, nans: 0 }],
  };
}

describe('fleet reads over sums past 2^53 - 1', () => {
  let h: Harness;
  before(() => {
    h = makeHarness();
    for (const id of ['a', 'b', 'c']) h.store.devices.create(id, 'x'.repeat(32), {}, null, h.clock.now());
    h.store.telemetry.putWindows('a', [win(1, BIG), win(2, BIG)], h.clock.now());
    h.store.telemetry.putWindows('b', [win(1, BIG)], h.clock.now());
    h.store.telemetry.putWindows('c', [win(1, 7)], h.clock.now());
  });
  after(() => h.close());

  it('totals answer with the sums and name those past 2^53 - 1', async () => {
    const res = await h.req('GET', '/api/v1/models/vib/totals?version=1.0.0', { role: 'viewer' });
    const t = (await res.json()) as ModelTotals;
    assert.equal(res.status, 200, JSON.stringify(t));
    assert.deepEqual([t.count, t.windows, t.devices], [3 * BIG + 7, 4, 3]);
    assert.deepEqual(t.inexact, ['count', 'latencyCount', 'features.rms.counts[0]', 'features.rms.n']);
    // The windows of one device are exact again: the flag goes with the sums.
    const one = await h.req('GET', `/api/v1/models/vib/totals?version=1.0.0&since=${new Date(T0 + 2 * 60_000).toISOString()}`, { role: 'viewer' });
    const t1 = (await one.json()) as ModelTotals;
    assert.deepEqual([one.status, t1.count, t1.inexact], [200, BIG, undefined]);
  });

});

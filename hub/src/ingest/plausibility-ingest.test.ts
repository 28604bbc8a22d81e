// The audit's implausible windows through the real ingest path (docs/hub.md "What the hub accepts from
// devices"): a real Store, a signed bundle in the registry (a numeric and a categorical feature, an
// output with reference bins), the embedded aedes broker on 127.0.0.1:0 and mqtt.js devices. An
// outside device's flood of 2^53 - 1 errors a minute, a window listing a feature fifty times or an output
// of more values than a box can record, and windows of finite floats whose sums overflow (a mean far
// outside [min, max], m2, latency and squared-error sums of 1.7e308, values without a min and max)
// are acked and refused with their reason; the fleet's rollups (what metrics, drift, gates and alerts
// merge) stay exactly the honest devices' own, and the rollout gates' fleet-minus-others numbers stay exact.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import { LATENCY_BOUNDS_MS, TotalsAccumulator, emptyLatency, withReferenceId, type SeqWindow } from '@edgefleet/shared';
import type { Harness } from '../testing/harness.js';
import type { Parts } from '../testing/parts.js';
import { TEMP_MODE_FEATURES, tempModeReference } from '../rollups/testing.js';
import { mergeRollups, type MergedSummary } from '../rollups/query.js';
import { RollupGateData } from '../rollouts/rollup-gate-data.js';
import { WindowGateData } from '../rollouts/gate-data.js';
import { startIngestHub, type IngestHub } from './testing.js';

const MODEL = 'vib';
const GROUP = ['g1', 'g2', 'g3', 'g4'];
const DEVICES = ['honest', 'rogue', ...GROUP];
/** The harness clock is 12:00; every window starts in the hour 10:00-11:00. */
const HOUR = Date.parse('2026-03-01T10:00:00.000Z');
/** Latency bucket of samples up to 10.24 ms. */
const B = 40;

/** Four answered requests of 1 ms (`over` may count some as failed), their rows in `temp`, `mode` (one NaN) and `score`, as the agent records them. */
function honest(seq: number, over: Partial<SeqWindow> = {}): SeqWindow {
  const latency = emptyLatency();
  latency.counts[B] = 4;
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(HOUR + seq * 60_000).toISOString(), lengthSec: 60, count: 4, errors: {},
    latency: { ...latency, sumMs: 4 },
    features: [
      { kind: 'numeric', name: 'temp', hist: { counts: [0, 0, 0, 0, 2, 2, 0, 0, 0, 0], under: 0, over: 0 }, moments: { n: 4, mean: 5, m2: 1, min: 4.5, max: 5.5 }, nulls: 0, nans: 0 },
      { kind: 'categorical', name: 'mode', cat: { counts: { idle: 2, run: 1 }, other: 0 }, nulls: 1 },
    ],
    outputs: [{ name: 'score', index: 0, hist: { counts: [0, 2, 2, 0], under: 0, over: 0 }, moments: { n: 4, mean: 0.5, m2: 0.1, min: 0.3, max: 0.7 } }],
    inputs: [], feedback: { labelled: 2, correct: 0, absErrorSum: 0.5, sqErrorSum: 0.25 }, ...over,
  };
}

describe('implausible windows through ingest: refused with their reason, the fleet\'s rollups the honest devices\' own', () => {
  let root: string;
  let hub: IngestHub;
  let h: Harness;
  let parts: Parts;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-plausible-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const { id: _id, ...reference } = tempModeReference('');
    const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '1.0.0', features: TEMP_MODE_FEATURES, reference: withReferenceId(reference), keys });
    hub = await startIngestHub({ bundle, trust, keys, devices: Object.fromEntries(DEVICES.map((id) => [id, {}])) });
    ({ h, parts } = hub);
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const send = (id: string, windows: SeqWindow[]) => hub.send(id, windows);

  const merged = (devices?: string[]): MergedSummary =>
    mergeRollups(h.store.rollups, { model: MODEL, version: '1.0.0', since: HOUR, until: HOUR + 3600_000, ...(devices ? { devices } : {}) });

  /** What metrics, drift and alerts read of the fleet equals what they read of the honest devices alone. */
  function assertFleetIsHonest(honestDevices: string[]): void {
    const fleet = merged();
    const own = merged(honestDevices);
    const pick = (m: MergedSummary) => ({ windows: m.windows, predictions: m.predictions, errors: m.errors, latency: m.latency, answeredLatency: m.answeredLatency, features: m.features, outputs: m.outputs, accuracy: m.accuracy });
    assert.deepEqual(pick(fleet), pick(own));
    assert.ok(Number.isFinite(fleet.latency.meanMs) && Number.isFinite(fleet.accuracy.rmse), JSON.stringify(pick(fleet)));
    const moments = [...fleet.features.flatMap((f) => (f.kind === 'numeric' ? [f.moments] : [])), ...fleet.outputs.map((o) => o.moments)];
    for (const m of moments) assert.ok([m.mean, m.m2, m.min, m.max].every(Number.isFinite), JSON.stringify(m));
  }

  it('a flood of 2^53 - 1 errors a minute from a device outside a wave is refused; the gates read the wave\'s own model errors', async () => {
    for (const id of GROUP) await send(id, [honest(1, { errors: { INFERENCE_FAILED: 1 } })]);
    const M = Number.MAX_SAFE_INTEGER;
    const flood = (seq: number): SeqWindow => {
      const lat = emptyLatency();
      lat.counts[0] = M;
      return honest(seq, { count: 0, errors: { INFERENCE_FAILED: M }, latency: { ...lat, sumMs: 0 }, features: [], outputs: [] });
    };
    await send('rogue', Array.from({ length: 8 }, (_, i) => flood(i + 1)));
    const q = { model: MODEL, version: '1.0.0', devices: new Set(GROUP), from: new Date(HOUR).toISOString(), to: new Date(HOUR + 2 * 3600_000).toISOString() };
    const gates = new RollupGateData({ db: h.store.db, rollups: h.store.rollups });
    gates.stats(q); // builds the first hour's fleet row, as the fleet row builder or any fleet query does
    const s = gates.stats(q);
    assert.equal(gates.lastTrace.via, 'fleet-minus-others');
    assert.deepEqual([s.modelErrors, s.count], [4, 16]);
    const raw = new WindowGateData(h.store.db).stats(q);
    assert.deepEqual([raw.modelErrors, raw.count], [4, 16]);
    assert.equal(merged().errors.model, 4);
    assert.deepEqual(h.store.telemetry.countFor('rogue'), { windows: 0, events: 0 });
    assert.equal(parts.ingest.guard.refusals('rogue')?.windows.implausible_rate, 8);
  });

  it('a feature listed fifty times, an output of more values than a box records and nulls past the count are refused', async () => {
    await send('honest', [honest(1)]);
    const dup = honest(2);
    const temp = { kind: 'numeric' as const, name: 'temp', hist: { counts: [0, 0, 0, 0, 0, 0, 0, 0, 0, 4], under: 0, over: 0 }, moments: { n: 4, mean: 9.5, m2: 0, min: 9.5, max: 9.5 }, nulls: 0, nans: 0 };
    dup.features = [...Array.from({ length: 50 }, () => ({ ...temp })), dup.features[1]!];
    const values = 60 * 1e10 + 1;
    const outputs = honest(3, { outputs: [{ name: 'score', index: 0, hist: { counts: [values, 0, 0, 0], under: 0, over: 0 }, moments: { n: values, mean: 0.1, m2: 0, min: 0.1, max: 0.1 } }] });
    const nulls = honest(4, { features: [honest(4).features[0]!, { kind: 'categorical', name: 'mode', cat: { counts: { idle: 4 }, other: 0 }, nulls: 1_000_000 }] });
    await send('rogue', [{ ...dup, seq: 101 }, { ...outputs, seq: 102 }, { ...nulls, seq: 103 }]);
    assertFleetIsHonest(['honest', ...GROUP]);
    const r = parts.ingest.guard.refusals('rogue')?.windows;
    assert.deepEqual([r?.inconsistent_counts, r?.implausible_rate], [2, 8 + 1]);
    assert.deepEqual(h.store.telemetry.countFor('rogue'), { windows: 0, events: 0 });
  });

  it('finite floats whose sums overflow are refused: the fleet\'s moments, latency and errors stay finite', async () => {
    const seq = (n: number) => 200 + n;
    const base = honest(5);
    const outOfRange = { ...base, seq: seq(1), features: [{ ...base.features[0]!, moments: { n: 1, mean: 1e308, m2: 0, min: 5, max: 5 } } as SeqWindow['features'][number], base.features[1]!] };
    const negative = { ...base, seq: seq(2), features: [{ ...base.features[0]!, moments: { n: 1, mean: -1e308, m2: 0, min: 5, max: 5 } } as SeqWindow['features'][number], base.features[1]!] };
    const spread = { ...base, seq: seq(3), features: [{ ...base.features[0]!, moments: { n: 4, mean: 5, m2: 1e308, min: 4.5, max: 5.5 } } as SeqWindow['features'][number], base.features[1]!] };
    const noRange = { ...base, seq: seq(4), outputs: [{ ...base.outputs[0]!, moments: { n: 4, mean: 0.5, m2: 0.1, min: null, max: null } }] };
    const latency = { ...base, seq: seq(5), latency: { ...base.latency, sumMs: 1.7e308 } };
    const sq = { ...base, seq: seq(6), feedback: { labelled: 1, correct: 0, absErrorSum: 0, sqErrorSum: 1.7e308 } };
    const huge = { ...base, seq: seq(7), features: [{ ...base.features[0]!, moments: { n: 2, mean: 0, m2: 1e300, min: -1e300, max: 1e300 } } as SeqWindow['features'][number], base.features[1]!] };
    const top = emptyLatency();
    top.counts[LATENCY_BOUNDS_MS.length] = 4; // the open overflow bucket
    const slow = { ...base, seq: seq(8), latency: { ...top, sumMs: 1.7e308 } };
    await send('rogue', [outOfRange, negative, spread, noRange, latency, sq, huge, slow]);
    await send('honest', [honest(6)]);
    assertFleetIsHonest(['honest', ...GROUP]);
    assert.equal(parts.ingest.guard.refusals('rogue')?.windows.implausible_values, 8);
    assert.deepEqual(h.store.telemetry.countFor('rogue'), { windows: 0, events: 0 });
  });

  it('made-up error codes (5,000 a window, or one of 10,000 characters) are summed under OTHER in the rollups and totals; the stored windows keep them', async () => {
    const codes = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`E${from + i}`, 0]));
    const at = (seq: number) => new Date(HOUR + (seq % 60) * 60_000).toISOString();
    const many = (seq: number) => honest(seq, { start: at(seq), errors: { ...codes(seq * 5000, 5000), INFERENCE_FAILED: 1 } });
    // One window a message (5,000 codes are about 60 KiB). Summed by name, the rollup row grew by 5,000 codes each.
    for (let seq = 301; seq <= 320; seq++) await send('rogue', [many(seq)]);
    await send('rogue', [honest(321, { start: at(321), errors: { ['X'.repeat(10_000)]: 2 } })]);
    assert.deepEqual(h.store.telemetry.countFor('rogue'), { windows: 21, events: 0 });
    const rows = h.store.db.prepare("SELECT grain, errors FROM rollups WHERE device_id = 'rogue' ORDER BY grain").all() as Array<{ grain: number; errors: string }>;
    assert.deepEqual(rows.map((r) => [r.grain, JSON.parse(r.errors)]), [[3600, { INFERENCE_FAILED: 20, OTHER: 2 }], [86400, { INFERENCE_FAILED: 20, OTHER: 2 }]]);
    assert.equal(merged(['rogue']).errors.model, 22, 'an unknown code still counts as a model failure');
    // GET /models/{name}/totals sums the stored windows the same way.
    const acc = new TotalsAccumulator();
    for (const page of h.store.telemetry.windowPages({ model: MODEL, version: '1.0.0', deviceId: 'rogue' }, 500)) for (const w of page) acc.add(w);
    assert.deepEqual(acc.totals().errors, { INFERENCE_FAILED: 20, OTHER: 2 });
  });
});

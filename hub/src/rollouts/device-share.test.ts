// One enrolled box inside a wave or its control reports windows that pass every plausibility check
// (docs/hub.md "What the hub accepts from devices": up to ingest.maxPredictionsPerSec a second) but hold
// nearly all of the group's requests. Through the real ingest path (the embedded aedes broker on
// 127.0.0.1:0, mqtt.js devices, a real Store and its rollups), the gates' numbers as the judge reads them
// (boundedStats over RollupGateData): the box is left out and named, so the verdict is the honest devices'.
// With maxDeviceShare 1 (the hub before docs/decisions/0079-no-one-device-carries-a-gate.md) it decided the wave.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import { GateConfig, emptyLatency, withReferenceId, type GateResult, type SeqWindow } from '@edgefleet/shared';
import { TEMP_MODE_FEATURES, tempModeReference } from '../rollups/testing.js';
import { startIngestHub, type IngestHub } from '../ingest/testing.js';
import { RollupGateData } from './rollup-gate-data.js';
import { WindowGateData } from './gate-data.js';
import { boundedStats } from './device-share.js';
import { evaluateGates } from './gates.js';

const MODEL = 'vib';
const WAVE = ['w1', 'w2', 'w3'];
const CONTROL = ['c1', 'c2', 'c3'];
/** The harness clock is 12:00; the honest devices report in 08:00 and 10:00. */
const H8 = Date.parse('2026-03-01T08:00:00.000Z');
const H10 = Date.parse('2026-03-01T10:00:00.000Z');
/** Latency bucket of samples up to 10.24 ms. */
const B = 40;
/** What the box claims in one window of 60 s: under ingest.maxPredictionsPerSec (1,000,000) a second. */
const CLAIM = 50_000_000;

/** Four requests of 1 ms answering four rows; `failed` of them failed in the model. */
function honest(hour: number, seq: number, failed: number): SeqWindow {
  const latency = emptyLatency();
  latency.counts[B] = 4;
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(hour + seq * 60_000).toISOString(), lengthSec: 60, count: 4 - failed,
    errors: failed ? { INFERENCE_FAILED: failed } : {}, latency: { ...latency, sumMs: 4 },
    features: [], outputs: [{ name: 'score', index: 0, hist: { counts: [0, 4 - failed, 0, 0], under: 0, over: 0 }, moments: { n: 4 - failed, mean: 0.4, m2: 0, min: 0.4, max: 0.4 } }],
    inputs: [],
  };
}

/** CLAIM requests of 1 ms in one minute, answered (`count` CLAIM) or all failed in the model. */
function claim(hour: number, seq: number, failed: boolean): SeqWindow {
  const latency = emptyLatency();
  latency.counts[B] = CLAIM;
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(hour + 30 * 60_000).toISOString(), lengthSec: 60, count: failed ? 0 : CLAIM,
    errors: failed ? { INFERENCE_FAILED: CLAIM } : {}, latency: { ...latency, sumMs: CLAIM }, features: [], outputs: [], inputs: [],
  };
}

const cfg = GateConfig.parse({ minPredictions: 10 });
const install = { notified: 4, active: 4, failed: 0 };
const gate = (gates: GateResult[], name: string) => gates.find((g) => g.name === name)!;

describe('no one device carries a gate: a box reporting most of a group\'s requests is left out of it', () => {
  let root: string;
  let hub: IngestHub;
  let gateData: RollupGateData;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-share-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const { id: _id, ...reference } = tempModeReference('');
    const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '1.0.0', features: TEMP_MODE_FEATURES, reference: withReferenceId(reference), keys });
    hub = await startIngestHub({ bundle, trust, keys, devices: Object.fromEntries([...WAVE, ...CONTROL, 'rogue'].map((id) => [id, {}])) });
    gateData = new RollupGateData({ db: hub.h.store.db, rollups: hub.h.store.rollups });
    // At 10:00 the wave fails one request in four and the control none; at 08:00 both fail none.
    for (const id of WAVE) await hub.send(id, [honest(H10, 1, 1), honest(H8, 2, 0)]);
    for (const id of CONTROL) await hub.send(id, [honest(H10, 1, 0), honest(H8, 2, 0)]);
    // The box answers 50 million requests at 10:00, and fails as many at 08:00: each window plausible.
    await hub.send('rogue', [claim(H10, 1, false), claim(H8, 2, true)]);
    assert.equal(hub.parts.ingest.guard.refusals('rogue'), undefined, 'every window of the box was stored');
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const q = (hour: number, devices: string[]) => ({ model: MODEL, version: '1.0.0', devices: new Set(devices), from: new Date(hour).toISOString(), to: new Date(hour + 3600_000).toISOString() });
  const judge = (hour: number, wave: string[], control: string[], share: number) =>
    evaluateGates({ cfg: { ...cfg, maxDeviceShare: share }, install, wave: boundedStats(gateData, q(hour, wave), share), control: boundedStats(gateData, q(hour, control), share), reference: undefined, preflightP95: [] });

  it('in the wave, its answered requests no longer dilute a failing version into a pass', () => {
    const before = judge(H10, [...WAVE, 'rogue'], CONTROL, 1);
    assert.equal(gate(before, 'model_error_rate').verdict, 'pass', 'with maxDeviceShare 1 the box decides the wave');
    const gates = judge(H10, [...WAVE, 'rogue'], CONTROL, 0.5);
    assert.deepEqual([gate(gates, 'model_error_rate').value, gate(gates, 'model_error_rate').verdict], [25, 'fail']);
    assert.equal(gate(gates, 'reporting').samples.wave, 4, 'the box left out still counts as reporting');
    assert.match(gate(gates, 'predictions').note ?? '', /^rogue left out of the wave's numbers: it reported 50000000 of its 50000009 predictions \(100 %\) and 50000000 of its 50000012 requests \(100 %\), more than gates\.maxDeviceShare 0\.5$/);
  });

  it('in the wave, its failed requests no longer fail a good version', () => {
    assert.equal(gate(judge(H8, [...WAVE, 'rogue'], CONTROL, 1), 'model_error_rate').verdict, 'fail');
    const gates = judge(H8, [...WAVE, 'rogue'], CONTROL, 0.5);
    assert.deepEqual([gate(gates, 'model_error_rate').value, gate(gates, 'model_error_rate').verdict], [0, 'pass']);
  });

  it('in the control, its failed requests no longer raise the bar a failing wave must meet', () => {
    const before = gate(judge(H8, WAVE, [...CONTROL, 'rogue'], 1), 'model_error_rate');
    assert.equal(before.threshold, 101);
    // The wave failing one in four at 10:00 against a control the box fills with failures at 08:00: the same devices' hours swapped in.
    const wave = boundedStats(gateData, q(H10, WAVE), 0.5);
    const control = boundedStats(gateData, q(H8, [...CONTROL, 'rogue']), 0.5);
    const gates = evaluateGates({ cfg, install: { notified: 3, active: 3, failed: 0 }, wave, control, reference: undefined, preflightP95: [] });
    assert.deepEqual([gate(gates, 'model_error_rate').threshold, gate(gates, 'model_error_rate').verdict], [1, 'fail']);
    assert.match(gate(gates, 'predictions').note ?? '', /^rogue left out of the control's numbers/);
  });

  it('two devices holding half each, a group of two, and the window-merging reference agree', () => {
    const rollups = gateData.volumes(q(H10, [...WAVE, 'rogue']));
    assert.deepEqual(rollups, new WindowGateData(hub.h.store.db).volumes(q(H10, [...WAVE, 'rogue'])));
    assert.deepEqual(rollups.get('rogue'), { count: CLAIM, requests: CLAIM, values: 0 });
    // A canary of two is not checked: one of two devices is half of it whatever it reports.
    assert.equal(boundedStats(gateData, q(H10, ['w1', 'rogue']), 0.5).leftOut, undefined);
    // The honest devices report alike: none is left out.
    assert.equal(boundedStats(gateData, q(H10, WAVE), 0.5).leftOut, undefined);
  });

  it('a device of an earlier wave is weighed by what it reported since this wave began, not over the whole hour', async () => {
    const H11 = H10 + 3600_000;
    // w1, the canary, reported alone from 11:03 to 11:22; the next wave began at 11:30 and each of its devices reported once since.
    await hub.send('w1', Array.from({ length: 20 }, (_, i) => honest(H11, 3 + i, 0)));
    for (const id of WAVE) await hub.send(id, [honest(H11, 40, 0)]);
    const since = { ...q(H11, WAVE), from: new Date(H11 + 30 * 60_000).toISOString() };
    assert.deepEqual(gateData.volumes(since), new WindowGateData(hub.h.store.db).volumes(since));
    assert.equal(boundedStats(gateData, since, 0.5).leftOut, undefined, 'w1 was left out for what it reported before the wave began');
    assert.equal(boundedStats(gateData, q(H11, WAVE), 0.5).leftOut?.deviceId, 'w1', 'over the whole hour it does hold most of the predictions');
  });
});

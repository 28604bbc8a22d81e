// One enrolled box inside a wave reports windows of a few predictions, a quarter of the wave's, each
// window plausible (docs/hub.md "What the hub accepts from devices": an output may hold up to
// MAX_VALUES_PER_SEC values a second, a detection model's boxes being any number per prediction), but
// whose output histograms hold 500 billion values. Through the real ingest path (the embedded aedes
// broker on 127.0.0.1:0, mqtt.js devices, a real Store and its rollups) to the gates' numbers as the
// judge reads them (boundedStats over RollupGateData): before, the box held all but a billionth of the
// histograms output_shift reads and decided it either way while under gates.maxDeviceShare of the
// predictions and requests; now a box over the share of the output values is left out and named
// (docs/rollouts.md "Gates", docs/decisions/0130-no-one-device-carries-the-outputs.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GateConfig, emptyLatency, type GateResult, type SeqWindow } from '@edgefleet/shared';
import { startVibIngestHub, type IngestHub } from './testing.js';
import { RollupGateData } from '../rollouts/rollup-gate-data.js';
import { WindowGateData } from '../rollouts/gate-data.js';
import { boundedStats } from '../rollouts/device-share.js';
import { evaluateGates } from '../rollouts/gates.js';

const MODEL = 'vib';
const WAVE = ['w1', 'w2', 'w3'];
const CONTROL = ['c1', 'c2', 'c3'];
/** The harness clock is 12:00; at 10:00 the wave answers as the control does, at 08:00 it has shifted. */
const H8 = Date.parse('2026-03-01T08:00:00.000Z');
const H10 = Date.parse('2026-03-01T10:00:00.000Z');
/** What the box claims in the output histogram of one window of 60 s: under MAX_VALUES_PER_SEC (1e10) a second. */
const CLAIM = 500_000_000_000;
const AS_CONTROL = [0, 4, 0, 0];
const SHIFTED = [4, 0, 0, 0];

/** Four requests of 1 ms answering four rows, the output `score` binned as `bins` (of the reference's four). */
function win(hour: number, seq: number, bins: number[]): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = 4;
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(hour + seq * 60_000).toISOString(), lengthSec: 60, count: 4,
    errors: {}, latency: { ...latency, sumMs: 4 }, features: [],
    outputs: [{ name: 'score', index: 0, hist: { counts: bins, under: 0, over: 0 }, moments: { n: 4, mean: 0.4, m2: 0, min: 0.4, max: 0.4 } }],
    inputs: [],
  };
}

const cfg = GateConfig.parse({ minPredictions: 10 });
const gate = (gates: GateResult[], name: string) => gates.find((g) => g.name === name)!;

describe('no one device carries output_shift: a box holding most of a wave\'s output values is left out of it', () => {
  let hub: IngestHub;
  let gateData: RollupGateData;

  before(async () => {
    hub = await startVibIngestHub('ef-outshare-', [...WAVE, ...CONTROL, 'rogue'], undefined, true);
    gateData = new RollupGateData({ db: hub.h.store.db, rollups: hub.h.store.rollups });
    for (const id of WAVE) await hub.send(id, [win(H10, 1, AS_CONTROL), win(H10, 2, AS_CONTROL), win(H8, 3, SHIFTED), win(H8, 4, SHIFTED)]);
    for (const id of CONTROL) await hub.send(id, [win(H10, 1, AS_CONTROL), win(H10, 2, AS_CONTROL), win(H8, 3, AS_CONTROL), win(H8, 4, AS_CONTROL)]);
    // Four predictions an hour, as each honest device has eight: its output values all in one bin.
    await hub.send('rogue', [win(H10, 1, [CLAIM, 0, 0, 0]), win(H8, 2, [0, CLAIM, 0, 0])]);
    assert.equal(hub.parts.ingest.guard.refusals('rogue'), undefined, 'every window of the box was stored');
  });
  after(() => hub.stop());

  const q = (hour: number, devices: string[]) => ({ model: MODEL, version: '1.0.0', devices: new Set(devices), from: new Date(hour).toISOString(), to: new Date(hour + 3600_000).toISOString() });
  const judge = (hour: number, share: number) => evaluateGates({
    cfg: { ...cfg, maxDeviceShare: share }, install: { notified: 4, active: 4, failed: 0 },
    wave: boundedStats(gateData, q(hour, [...WAVE, 'rogue']), share), control: boundedStats(gateData, q(hour, CONTROL), share), reference: undefined, preflightP95: [],
  });

  it('its output values no longer fail a version that answers as the control does', () => {
    assert.equal(gate(judge(H10, 1), 'output_shift').verdict, 'fail', 'with maxDeviceShare 1 the box decides output_shift');
    const gates = judge(H10, 0.5);
    assert.deepEqual([gate(gates, 'output_shift').value, gate(gates, 'output_shift').verdict], [0, 'pass']);
    assert.equal(gate(gates, 'reporting').samples.wave, 4, 'the box left out still counts as reporting');
    assert.equal(gate(gates, 'predictions').note,
      `rogue left out of the wave's numbers: it reported 4 of its 28 predictions (14.3 %), 4 of its 28 requests (14.3 %) and ${CLAIM} of its ${CLAIM + 24} output values (100 %), more than gates.maxDeviceShare 0.5`);
  });

  it('its output values no longer pass a version whose outputs moved', () => {
    assert.equal(gate(judge(H8, 1), 'output_shift').verdict, 'pass', 'with maxDeviceShare 1 the box hides the shift');
    assert.equal(gate(judge(H8, 0.5), 'output_shift').verdict, 'fail');
  });

  it('the rollups and the window-merging reference count the same output values', () => {
    const rollups = gateData.volumes(q(H10, [...WAVE, 'rogue']));
    assert.deepEqual(rollups, new WindowGateData(hub.h.store.db).volumes(q(H10, [...WAVE, 'rogue'])));
    assert.deepEqual([rollups.get('rogue'), rollups.get('w1')], [{ count: 4, requests: 4, values: CLAIM }, { count: 8, requests: 8, values: 8 }]);
  });
});

// Windows claiming the same time again (docs/hub.md "What the hub accepts from devices", coverage.ts), through
// the real ingest path: a real Store, a signed bundle in the registry, the embedded aedes broker on
// 127.0.0.1:0 and mqtt.js devices. The probe of 2026-12-05: one box sent 3,500 windows of 31 days at
// 1,000,000 predictions a second, all starting at one instant; all were stored and GET /models/{name}/totals
// answered 400 for every caller. Now one is stored, the rest are acked and refused as overlapping_window,
// and the totals answer. What honest agents send (consecutive windows, a restart's second window of a
// minute, resends, a compacted backlog's hour over minutes already sent, two weeks of backlog in order) is
// all stored; the credit is tested at its bound, for counts and for output values, and read back from
// hub.db by a guard that starts afresh (a restarted hub). Windows stored before the bound (summing past
// 2^53 - 1) leave the version's totals, metrics and drift answering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import { emptyLatency, type ModelTotals, type SeqWindow } from '@edgefleet/shared';
import { mergeRollups } from '../rollups/query.js';
import { noopLogger } from '../mqtt/ports.js';
import { IngestGuard } from './guard.js';
import { startIngestHub, type IngestHub } from './testing.js';

const MODEL = 'vib';
const OVERLAP_SEC = 3600;
/** The harness clock is 12:00. */
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;

/** A window of `count` answered requests (one prediction each) over [startMs, startMs + lengthSec). */
function win(seq: number, startMs: number, lengthSec: number, count: number, over: Partial<SeqWindow> = {}): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = count;
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(startMs).toISOString(), lengthSec, count, errors: {},
    latency: { ...latency, sumMs: count }, features: [], outputs: [], inputs: [], ...over,
  };
}

describe('windows claiming the same time again', () => {
  let root: string;
  let hub: IngestHub;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-overlap-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '1.0.0', keys });
    const devices = ['rogue', 'honest', 'bound', 'values', 'other', 'old'];
    hub = await startIngestHub({ bundle, trust, keys, devices: Object.fromEntries(devices.map((id) => [id, {}])), limits: { maxOverlapSec: OVERLAP_SEC } });
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const sendAll = async (id: string, windows: SeqWindow[]) => {
    for (let i = 0; i < windows.length; i += 100) await hub.send(id, windows.slice(i, i + 100));
  };
  const stored = (id: string) => hub.h.store.telemetry.countFor(id).windows;
  const refused = (id: string) => hub.parts.ingest.guard.refusals(id)?.windows;

  it('the probe: 3,500 windows of 31 days at 1,000,000 a second from one instant store one; the totals and the rollups answer', async () => {
    const start = NOW - 3600_000;
    const most = 31 * 86_400 * 1_000_000;
    await sendAll('rogue', Array.from({ length: 3500 }, (_, i) => win(i + 1, start, 31 * 86_400, most)));
    await hub.send('other', [win(1, start, 60, 10)]);
    const res = await hub.h.req('GET', '/api/v1/models/vib/totals?version=1.0.0', { role: 'viewer' });
    const body = (await res.json()) as ModelTotals;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(stored('rogue'), 1);
    assert.deepEqual(refused('rogue'), { overlapping_window: 3499 });
    assert.deepEqual([body.count, body.windows, body.devices], [most + 10, 2, 2]);
    const m = mergeRollups(hub.h.store.rollups, { model: MODEL, version: '1.0.0', since: start, until: start + 3600_000 });
    assert.equal(m.predictions, most + 10);
  });

  it('what an honest agent sends is all stored: consecutive windows, a restart, resends, a compacted hour, two weeks of backlog', async () => {
    const t0 = NOW - 15 * DAY;
    const rate = 10_000; // an agent answers about 10,000 requests a second (docs/performance.md)
    const minutes = Array.from({ length: 30 }, (_, i) => win(i + 1, t0 + i * 60_000, 60, 60 * rate));
    await hub.send('honest', minutes);
    // Restarted at 00:29:40: a second window of minute 29 (recorder.ts opens the window holding now).
    await hub.send('honest', [win(31, t0 + 29 * 60_000, 60, 20 * rate)]);
    // Its ack lost: the same windows again, stored once.
    await hub.send('honest', minutes.slice(20));
    // Offline: the rest of the hour compacted into one hour window holding the 30 minutes already sent (retention.ts).
    await hub.send('honest', [win(32, t0, 3600, 30 * 60 * rate)]);
    // Two weeks of hour windows at ten times that, in order, then live minutes.
    const backlog = Array.from({ length: 14 * 24 }, (_, i) => win(33 + i, t0 + (i + 1) * 3600_000, 3600, 3600 * 10 * rate));
    await sendAll('honest', backlog);
    const seq = 33 + backlog.length;
    const live = t0 + (14 * 24 + 1) * 3600_000;
    await hub.send('honest', [win(seq, live, 60, 60 * rate), win(seq + 1, live + 60_000, 60, 60 * rate)]);
    assert.equal(refused('honest'), undefined);
    assert.equal(stored('honest'), 32 + backlog.length + 2);
  });

  it('the credit at its bound: an hour of windows at the full rate claimed again, then refused; new time pays for itself', async () => {
    const start = NOW - 2 * 3600_000;
    const full = 60 * 1_000_000;
    await hub.send('bound', Array.from({ length: 1 + OVERLAP_SEC / 60 + 1 }, (_, i) => win(i + 1, start, 60, full)));
    assert.equal(stored('bound'), 61);
    assert.deepEqual(refused('bound'), { overlapping_window: 1 });
    await hub.send('bound', [win(100, start + 60_000, 60, full), win(101, start, 60, 1)]);
    assert.equal(stored('bound'), 62);
    assert.deepEqual(refused('bound'), { overlapping_window: 2 });
  });

  it('output values count too: windows of no predictions and 10^10 values a second are bounded the same way', async () => {
    const values = 60 * 1e10;
    const out = { outputs: [{ name: 'score', index: 0, moments: { n: values, mean: 0.5, m2: 0, min: 0.5, max: 0.5 } }] };
    await hub.send('values', Array.from({ length: 70 }, (_, i) => win(i + 1, NOW - 3600_000, 60, 0, { ...out, latency: { ...emptyLatency(), sumMs: 0 } })));
    assert.equal(stored('values'), 61);
    assert.deepEqual(refused('values'), { overlapping_window: 9 });
  });

  it('windows stored before the bound, summing past 2^53 - 1: totals, metrics and drift of the version answer every caller', async () => {
    const start = NOW - 5 * 3600_000;
    const big = 31 * 86_400 * 1_000_000;
    hub.h.store.telemetry.putWindows('old', Array.from({ length: 3500 }, (_, i) => win(i + 1, start, 31 * 86_400, big)), hub.h.clock.now());
    const q = `since=${new Date(start).toISOString()}`;
    const totals = await hub.h.req('GET', `/api/v1/models/vib/totals?version=1.0.0&${q}`, { role: 'viewer' });
    const t = (await totals.json()) as ModelTotals;
    assert.deepEqual([totals.status, t.inexact], [200, ['count', 'latencyCount']], JSON.stringify(t));
    for (const path of ['metrics', 'drift']) {
      const res = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/${path}?${q}`, { role: 'viewer' });
      assert.equal(res.status, 200, `${path}: ${await res.text()}`);
    }
  });

  it('a guard started afresh (a restarted hub) reads where a device\'s windows reach from hub.db', () => {
    const guard = new IngestGuard({ db: hub.h.store.db, logger: noopLogger, limits: { maxOverlapSec: 0 } });
    const now = new Date(NOW);
    // bound's stored window of the highest seq (100) ends two minutes after the start of its others.
    const start = NOW - 2 * 3600_000;
    assert.deepEqual(guard.windows('bound', [win(200, start + 60_000, 60, 1)], now), []);
    assert.deepEqual(guard.refusals('bound')?.windows, { overlapping_window: 1 });
    assert.equal(guard.windows('bound', [win(201, start + 120_000, 60, 1)], now).length, 1, 'time past its last window');
  });
});

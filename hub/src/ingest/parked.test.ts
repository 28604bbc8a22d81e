// Windows of a version the registry does not hold (a hub restored from a backup older than the version's
// push: docs/operations.md "Backup and restore"): parked and acked, stored exactly once when the version
// is pushed again, whatever the device resends; a device making up versions parks at most
// ingest.maxParkedBytesPerDevice (parked.ts). A real Store, a signed bundle, the embedded aedes broker on
// 127.0.0.1:0 and mqtt.js devices (testing.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, type BundleResult } from '@edgefleet/examples';
import { emptyLatency, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import { startIngestHub, type IngestHub } from './testing.js';

const MODEL = 'vib';
/** Characters a device may park: a few windows' worth. */
const MAX_PARKED = 3000;

function win(seq: number, version: string, model = MODEL): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = 2;
  return {
    seq, model, version, start: new Date(Date.parse('2026-03-01T10:00:00.000Z') + seq * 60_000).toISOString(), lengthSec: 60, count: 2, errors: {},
    latency: { ...latency, sumMs: 2 }, features: [], outputs: [], inputs: [],
  };
}

describe('windows of a version the registry does not hold', () => {
  let root: string;
  let hub: IngestHub;
  let v2: BundleResult;
  let trust: TrustBody;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-parked-'));
    const keys = makeKeys(join(root, 'keys'));
    trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const v1 = await bundleFromOnnx({ dir: join(root, 'v1'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '1.0.0', keys });
    v2 = await bundleFromOnnx({ dir: join(root, 'v2'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '2.0.0', keys });
    hub = await startIngestHub({ bundle: v1, trust, keys, devices: { box: {}, liar: {} }, limits: { maxSeqGap: 1000, maxParkedBytesPerDevice: MAX_PARKED } });
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const stored = (id: string) => (hub.h.store.db.prepare('SELECT seq, version FROM device_windows WHERE device_id = ? ORDER BY seq').all(id) as Array<{ seq: number; version: string }>)
    .map((r) => `${r.seq} ${r.version}`);

  it('are acked and parked, and stored exactly once when the version is pushed again', async () => {
    const ingest = hub.parts.ingest;
    // The box's backlog on 2.0.0 (pushed after the snapshot this hub was restored from), then a window of 1.0.0.
    await hub.send('box', [win(1, '2.0.0'), win(2, '2.0.0'), win(3, '2.0.0'), win(4, '1.0.0')]);
    await hub.send('box', [win(2, '2.0.0'), win(3, '2.0.0')]); // a resend after a lost ack
    assert.deepEqual(stored('box'), ['4 1.0.0']);
    const parked = ingest.parked.status('box');
    assert.deepEqual(parked && { windows: parked.windows, versions: parked.versions.map((v) => `${v.model}@${v.version} ${v.windows}`) }, { windows: 3, versions: ['vib@2.0.0 3'] });
    assert.equal(ingest.guard.refusals('box'), undefined, 'parked, not refused');
    assert.equal(await ingest.parked.sweep(), 0, 'nothing to store while the registry does not hold 2.0.0');

    const registry = new Registry(hub.h.store, bundleVerifier(() => trust));
    await registry.push(createReadStream(v2.path), { maxBytes: 64 << 20, pushedBy: 'test', at: hub.h.clock.now() });
    assert.equal(await ingest.parked.sweep(), 3);
    assert.deepEqual(stored('box'), ['1 2.0.0', '2 2.0.0', '3 2.0.0', '4 1.0.0']);
    assert.equal(ingest.parked.status('box'), undefined);
    // Resends after the store, and a second sweep, store nothing again; the box's next 2.0.0 window is stored at once.
    await hub.send('box', [win(1, '2.0.0'), win(3, '2.0.0'), win(5, '2.0.0')]);
    assert.equal(await ingest.parked.sweep(), 0);
    assert.deepEqual(stored('box'), ['1 2.0.0', '2 2.0.0', '3 2.0.0', '4 1.0.0', '5 2.0.0']);
    const total = hub.h.store.db.prepare("SELECT SUM(count) AS n FROM device_windows WHERE device_id = 'box'").get() as { n: number };
    assert.equal(total.n, 10, 'every prediction counted once');
  });

  it('a device making up versions parks at most maxParkedBytesPerDevice; the rest is refused as before', async () => {
    const ingest = hub.parts.ingest;
    await hub.send('liar', Array.from({ length: 40 }, (_, i) => win(i + 1, `9.9.${i}`, 'ghost')));
    const parked = ingest.parked.status('liar');
    assert.ok(parked && parked.bytes <= MAX_PARKED && parked.windows >= 2, JSON.stringify(parked));
    assert.equal(ingest.guard.refusals('liar')?.windows.unassigned_version, 40 - parked.windows);
    assert.deepEqual(stored('liar'), []);
    // A version the registry holds but the device was never given is refused, not parked.
    await hub.send('liar', [win(41, '2.0.0')]);
    assert.equal(ingest.parked.status('liar')?.windows, parked.windows);
    assert.equal(ingest.guard.refusals('liar')?.last?.seq, 41);
  });
});

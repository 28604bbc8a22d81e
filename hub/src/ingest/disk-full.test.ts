// Telemetry on a full disk (docs/hub.md "What the hub accepts from devices"): SQLite refuses the tick's
// transaction (SQLITE_FULL: the database may not grow by a page, and each window row brings a 64 KiB one
// with it through a temp trigger, so every batch needs room it cannot have). Nothing is stored or acked,
// the device keeps its windows and resends them; the failure is counted every time and logged once per
// interval with how many were not logged; once space is back the resend is stored exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, waitFor } from '@edgefleet/examples';
import { deviceTopic, emptyLatency, type SeqWindow } from '@edgefleet/shared';
import { collect, connectDevice } from '../mqtt/testing/devices.js';
import { startIngestHub, type IngestHub } from './testing.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('disk-full', () => {
  const HOUR = Date.parse('2026-03-01T10:00:00.000Z'); // the harness clock is 12:00

  /** A minute of four 1 ms requests of vib 1.0.0. */
  function win(seq: number): SeqWindow {
    const latency = emptyLatency();
    latency.counts[40] = 4;
    return { seq, model: 'vib', version: '1.0.0', start: new Date(HOUR + seq * 60_000).toISOString(), lengthSec: 60, count: 4, errors: {}, latency: { ...latency, sumMs: 4 }, features: [], outputs: [], inputs: [] };
  }

  let root: string;
  let hub: IngestHub;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-ingest-full-'));
    const keys = makeKeys(join(root, 'keys'));
    const trust = makeTrust(root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: 'vib', version: '1.0.0', keys });
    hub = await startIngestHub({ bundle, trust, keys, devices: { d1: {} } });
  });
  after(async () => {
    await hub.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a full disk: nothing stored or acked, one log line an interval; the resend after space is back is stored once', async () => {
    await hub.send('d1', [win(1)]);
    const { db } = hub.h.store;
    db.prepare('CREATE TABLE ballast (b BLOB)').run();
    db.prepare('CREATE TEMP TRIGGER grow AFTER INSERT ON main.device_windows BEGIN INSERT INTO ballast VALUES (zeroblob(65536)); END').run();
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);

    const c = await connectDevice(hub.mqttUrl, 'd1', 'secret-d1');
    const got = collect(c);
    await c.subscribeAsync(deviceTopic('d1', 'ack'), { qos: 1 });
    const batch = JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'd1', windows: [2, 3, 4].map(win) });
    const failures = () => hub.linkMetrics.counters.get('edgefleet_mqtt_handler_errors_total{"kind":"telemetry"}') ?? 0;
    const logged = () => hub.linkLogger.lines.filter((l) => l.level === 'error').map((l) => l.obj as { code: string; err: string; unloggedBefore: number });
    try {
      for (let i = 0; i < 5; i++) await c.publishAsync(deviceTopic('d1', 'telemetry'), batch, { qos: 1 });
      await waitFor('five failed batches', () => failures() === 5 || undefined, { timeoutMs: 15_000, intervalMs: 20 });
      assert.deepEqual(got.filter((m) => m.topic === deviceTopic('d1', 'ack')), [], 'nothing acked: the device keeps its windows');
      assert.equal(hub.h.store.telemetry.countFor('d1').windows, 1);
      assert.deepEqual(logged().map((l) => [l.code, l.unloggedBefore]), [['DISK_FULL', 0]], 'one line for five failures');
      assert.match(logged()[0]!.err, /^disk full: database or disk is full$/);
      // The next interval: one more line, saying how many were not logged.
      hub.h.clock.advance(60_000);
      await c.publishAsync(deviceTopic('d1', 'telemetry'), batch, { qos: 1 });
      await waitFor('the sixth failure', () => failures() === 6 || undefined, { timeoutMs: 15_000, intervalMs: 20 });
      assert.deepEqual(logged().map((l) => [l.code, l.unloggedBefore]), [['DISK_FULL', 0], ['DISK_FULL', 4]]);
    } finally {
      await c.endAsync(true);
    }

    db.pragma('max_page_count = 1073741823');
    db.prepare('DROP TRIGGER grow').run();
    await hub.send('d1', [2, 3, 4].map(win));
    await hub.send('d1', [2, 3, 4].map(win)); // and once more, as a device whose ack was lost would
    assert.equal(hub.h.store.telemetry.countFor('d1').windows, 4, 'each window stored once');
  });
});

// Per-device MQTT quotas end to end (hub/src/mqtt/quota.ts, docs/mqtt.md "Quotas"): the embedded
// aedes broker on 127.0.0.1:0 with real device credentials in a real Store, ingest storing and
// acking, and mqtt.js devices. A flooding device is throttled then disconnected (metric, audit entry)
// while an honest device on the same broker has every window acked and stored; a device over its
// bytes of the hour is refused and gets through once the window slid (manual clock); past its stored
// bytes a device's reports are acked and refused (storage_quota) until retention evicts its oldest
// windows (docs/decisions/0062-stored-history-rolls.md).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { buildMultiBundle, makeKeys, makeTrust, waitFor, type BundleResult, type Keys } from '@edgefleet/examples';
import { TelemetryBatch, deviceTopic, emptyLatency, type TrustBody } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { MqttQuota, type QuotaLimits } from '../mqtt/quota.js';
import type { ClockPort } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts } from '../testing/parts.js';
import { WindowRetention } from '../rollups/retention.js';
import { mergeRollups } from '../rollups/query.js';
import { STORED_RELOAD_MS } from './guard.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('quotas', () => {
  let root: string;
  let keys: Keys;
  let trust: TrustBody;
  let bundle: BundleResult;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ef-quota-'));
    keys = makeKeys(join(root, 'keys'));
    trust = makeTrust(root, keys).body;
    bundle = await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: '1.0.0' });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  let n = 0;
  async function startHub(clock: ClockPort & { now(): Date }, limits: Partial<QuotaLimits>, ids: string[], maxStoredBytesPerDevice?: number) {
    const store = Store.open(join(root, `hub-${++n}`), HUB_MIGRATIONS);
    const registry = new Registry(store, bundleVerifier(() => trust), 'off');
    await registry.push(createReadStream(bundle.path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() });
    for (const id of ids) store.devices.create(id, `secret-${id}`, {}, null, clock.now());
    const metrics = new RecordingMetrics();
    const logger = new RecordingLogger();
    // Wired as hub/src/server/hub.ts wires it.
    const quota = new MqttQuota({
      clock, logger, metrics, limits,
      onReport: (r) => store.audit.append({ actor: 'hub', action: 'device.quota_exceeded', target: r.deviceId, reason: r.why, at: r.at, details: { kind: r.kind, action: r.action } }),
    });
    const link = createEmbeddedBroker({
      tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
      devices: store.devices, metrics, logger, clock, quota,
    });
    await link.start();
    const parts = makeParts({ store, link, hubKey: keys.hub, clock, logger, ...(maxStoredBytesPerDevice ? { limits: { maxStoredBytesPerDevice } } : {}) });
    await parts.start();
    await parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ids }, reason: 'quota test' }, 'op');
    const clients: MqttClient[] = [];
    return {
      store, parts, quota, metrics, url: link.address().mqtt, clients,
      async device(id: string) {
        const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
        clients.push(c);
        const got = collect(c);
        await c.subscribeAsync(deviceTopic(id, 'ack'), { qos: 1 });
        const acked = () => new Set(got.filter((m) => m.topic === deviceTopic(id, 'ack')).flatMap((m) => (JSON.parse(m.payload) as { ranges: Array<[number, number]> }).ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_x, i) => a + i))));
        return { c, acked };
      },
      async close() {
        for (const c of clients) await c.endAsync(true);
        quota.stop();
        await parts.stop();
        await link.stop();
        store.close();
      },
    };
  }

  function telemetry(id: string, seq: number): string {
    const latency = emptyLatency();
    latency.counts[3] = 10;
    const w = { seq, model: 'audio-energy', version: '1.0.0', start: `2026-03-01T11:5${seq % 10}:00.000Z`, lengthSec: 60, count: 10, errors: {}, latency, features: [], outputs: [] };
    return JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: id, windows: [w] });
  }

  const counter = (m: RecordingMetrics, kind: string, action: string) => m.counters.get(`edgefleet_mqtt_quota_exceeded_total${JSON.stringify({ kind, action })}`) ?? 0;

  describe('MQTT quotas on the embedded broker', () => {
    it('throttles then disconnects a device flooding QoS 1 publishes; an honest device on the same broker is unaffected', async () => {
      const h = await startHub({ now: () => new Date() }, { messagesPerSec: 50, burst: 20, maxDelayMs: 500 }, ['flood', 'honest']);
      try {
        const flood = await h.device('flood');
        const closed = { yes: false };
        flood.c.once('close', () => { closed.yes = true; });
        const honest = await h.device('honest');
        // 5,000 QoS 1 publishes at once (the observed attack sent 20,000 in 5 s); the client queues them.
        for (let seq = 1; seq <= 5000; seq++) {
          flood.c.publishAsync(deviceTopic('flood', 'telemetry'), telemetry('flood', seq), { qos: 1 }).catch(() => {});
        }
        const honestSeqs = Array.from({ length: 15 }, (_x, i) => i + 1);
        for (const seq of honestSeqs) await honest.c.publishAsync(deviceTopic('honest', 'telemetry'), telemetry('honest', seq), { qos: 1 });
        await waitFor('the hub closing the connection', () => closed.yes || undefined, { timeoutMs: 20_000 });
        await waitFor('every honest window acked', () => honestSeqs.every((s) => honest.acked().has(s)) || undefined);

        assert.deepEqual(h.store.telemetry.countFor('honest'), { windows: 15, events: 0 }, 'all honest windows stored');
        assert.ok(honest.c.connected, 'the honest device stays connected');
        const floodAcked = flood.acked().size;
        assert.ok(floodAcked < 5000 && h.store.telemetry.countFor('flood').windows < 5000, `the flood was cut short (${floodAcked} acked)`);
        assert.ok(counter(h.metrics, 'messages', 'throttle') > 0, 'throttles counted');
        assert.equal(counter(h.metrics, 'messages', 'disconnect'), 1, 'one disconnect counted');
        assert.equal(counter(h.metrics, 'bytes', 'disconnect'), 0);
        const entries = h.store.audit.query({ action: 'device.quota_exceeded' });
        assert.deepEqual(entries.map((e) => [e.actor, e.target, (e.details as { action: string }).action]).sort(), [['hub', 'flood', 'disconnect'], ['hub', 'flood', 'throttle']]);
        assert.equal(h.quota.status('flood')?.disconnected, 1);
        assert.equal(h.quota.status('honest'), undefined, 'the honest device was never throttled');
      } finally {
        await h.close();
      }
    });

    it('refuses telemetry past the bytes of the hour (closing the connection, nothing acked) and accepts it once the window slid', async () => {
      const clock = new ManualClock();
      const size = Buffer.byteLength(telemetry('heavy', 1));
      const h = await startHub(clock, { bytesPerHour: Math.floor(size * 3.5) }, ['heavy']);
      try {
        const d1 = await h.device('heavy');
        for (const seq of [1, 2, 3]) await d1.c.publishAsync(deviceTopic('heavy', 'telemetry'), telemetry('heavy', seq), { qos: 1 });
        await waitFor('three windows acked', () => d1.acked().size === 3 || undefined);
        const closed = { yes: false };
        d1.c.once('close', () => { closed.yes = true; });
        d1.c.publishAsync(deviceTopic('heavy', 'telemetry'), telemetry('heavy', 4), { qos: 1 }).catch(() => {});
        await waitFor('the hub closing the connection', () => closed.yes || undefined, { timeoutMs: 20_000 });
        assert.equal(d1.acked().has(4), false, 'the refused window is not acked: the outbox keeps it');
        assert.equal(counter(h.metrics, 'bytes', 'disconnect'), 1);
        assert.equal(h.store.audit.query({ action: 'device.quota_exceeded' })[0]?.reason?.includes('bytesPerHour'), true);

        // Still within the hour: refused again.
        clock.advance(30 * 60_000);
        const d2 = await h.device('heavy');
        const closed2 = { yes: false };
        d2.c.once('close', () => { closed2.yes = true; });
        d2.c.publishAsync(deviceTopic('heavy', 'telemetry'), telemetry('heavy', 4), { qos: 1 }).catch(() => {});
        await waitFor('the hub closing the connection', () => closed2.yes || undefined, { timeoutMs: 20_000 });
        assert.equal(counter(h.metrics, 'bytes', 'disconnect'), 2);

        // An hour after the first bytes the window slid: the resend is acked and stored.
        clock.advance(31 * 60_000);
        const d3 = await h.device('heavy');
        await d3.c.publishAsync(deviceTopic('heavy', 'telemetry'), telemetry('heavy', 4), { qos: 1 });
        await waitFor('window 4 acked', () => d3.acked().has(4) || undefined);
        assert.deepEqual(h.store.telemetry.countFor('heavy'), { windows: 4, events: 0 });
      } finally {
        await h.close();
      }
    });

    it('acks but refuses reports past maxStoredBytesPerDevice, exactly at the bound', async () => {
      const clock = new ManualClock();
      // One window's size as stored (its JSON without the seq, the column the bound sums): the bound is
      // reached by exactly three one-window batches.
      const { seq: _seq, ...win } = TelemetryBatch.parse(JSON.parse(telemetry('full', 1))).windows[0]!;
      const one = JSON.stringify(win).length;
      const h = await startHub(clock, {}, ['full', 'other'], one * 3);
      try {
        const full = await h.device('full');
        for (const seq of [1, 2, 3, 4, 5]) await full.c.publishAsync(deviceTopic('full', 'telemetry'), telemetry('full', seq), { qos: 1 });
        await waitFor('five windows acked', () => full.acked().size === 5 || undefined);
        assert.deepEqual(h.store.telemetry.windows({ deviceId: 'full' }).map((w) => w.seq), [1, 2, 3], 'stored up to the bound, not past it');
        assert.deepEqual(h.parts.ingest.guard.refusals('full')?.windows, { storage_quota: 2 });
        // Retention evicts the oldest window (at the bound, down to 80 % of it: one of three), rollups kept;
        // once the guard reads the count again, the device's new windows are stored.
        const predictions = () => mergeRollups(h.store.rollups, { model: 'audio-energy', version: '1.0.0', since: '2026-03-01T00:00:00Z', until: '2026-03-02T00:00:00Z' }).predictions;
        const before = predictions();
        assert.equal(before, 30, 'three windows of 10 predictions');
        const retention = new WindowRetention({ stored: h.store.stored, clock, logger: new RecordingLogger(), maxStoredBytesPerDevice: one * 3 }, {});
        assert.deepEqual(retention.runOnce(), { expired: 0, evicted: 1 });
        assert.deepEqual(h.store.telemetry.windows({ deviceId: 'full' }).map((w) => w.seq), [2, 3], 'the oldest went');
        assert.equal(h.store.stored.get('full'), one * 2);
        assert.equal(predictions(), before, 'the rollups keep what the evicted window held');
        clock.advance(STORED_RELOAD_MS);
        await full.c.publishAsync(deviceTopic('full', 'telemetry'), telemetry('full', 6), { qos: 1 });
        await waitFor('window 6 acked', () => full.acked().has(6) || undefined);
        assert.deepEqual(h.store.telemetry.windows({ deviceId: 'full' }).map((w) => w.seq), [2, 3, 6], 'stored again after the eviction');
        // The cap is per device: another device still stores.
        const other = await h.device('other');
        await other.c.publishAsync(deviceTopic('other', 'telemetry'), telemetry('other', 1), { qos: 1 });
        await waitFor('other acked', () => other.acked().has(1) || undefined);
        assert.deepEqual(h.store.telemetry.countFor('other'), { windows: 1, events: 0 });
      } finally {
        await h.close();
      }
    });
  });
});

// Test support for the hostile-payload sweep (hostile-payloads*.test.ts): a hub as hub/src/server/hub.ts
// wires its device-facing parts (the embedded aedes broker on 127.0.0.1:0 with real device credentials
// in a real Store, reported state, ingest, deployments, data capture, the blob server), the multi-input
// bundle deployed to every device, and mqtt.js devices that publish raw bytes. `publish` reports what the
// broker did with a QoS 1 publish ('acked', or 'closed': MQTT 3.1.1 refuses by closing); each device
// keeps every message the hub sent it.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { buildMultiBundle, makeKeys, makeTrust, waitFor, type BundleResult } from '@edgefleet/examples';
import { deviceTopic, emptyLatency, type CaptureKeyFile, type DeviceTopicKind, type SeqWindow } from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice, tryPublish } from '../mqtt/testing/devices.js';
import { makeHarness, type Harness } from './harness.js';
import { makeParts, type Parts } from './parts.js';
import { CaptureService } from '../capture/service.js';
import { BlobServer } from '../delivery/blob-server.js';

export const MODEL = 'audio-energy';
export const MAX_PAYLOAD = 256 * 1024;

export interface HostileDevice {
  c: MqttClient;
  got: Array<{ topic: string; payload: string }>;
  publish(topic: DeviceTopicKind | string, payload: string | Buffer, opts?: { retain?: boolean }): Promise<'acked' | 'closed'>;
  /** The seqs the hub acked on `ack`. */
  acked(): Set<number>;
}

export interface HostileHub {
  h: Harness;
  parts: Parts;
  link: FleetLink;
  captures: CaptureService;
  bundle: BundleResult;
  metrics: RecordingMetrics;
  logger: RecordingLogger;
  /** A capture of MODEL targeting every device, id `captureId`. */
  captureId: number;
  captureKeyId: string;
  device(id: string): Promise<HostileDevice>;
  /** A counter of the link's RecordingMetrics (0 when never counted). */
  counter(name: string, labels?: Record<string, string>): number;
  stop(): Promise<void>;
}

/** An honest window of MODEL 1.0.0 (ten answered requests of 1 ms, starting `seq` minutes before 12:00). */
export function honestWindow(seq: number, over: Record<string, unknown> = {}): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = 10; // samples of at most 10.24 ms
  return {
    seq, model: MODEL, version: '1.0.0', start: new Date(Date.parse('2026-03-01T12:00:00Z') - (seq % 10_000) * 60_000).toISOString(),
    lengthSec: 60, count: 10, errors: {}, latency: { ...latency, sumMs: 10 }, features: [], outputs: [], inputs: [], ...over,
  } as SeqWindow;
}

/** `key`: the operators' capture key (newCaptureKeyFile). */
export async function startHostileHub(root: string, ids: string[], key: CaptureKeyFile, database?: string): Promise<HostileHub> {
  const keys = makeKeys(join(root, 'keys'));
  const trust = makeTrust(root, keys).body;
  const bundle = await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: '1.0.0' });
  const h = makeHarness({ database });
  const registry = new Registry(h.store, bundleVerifier(() => trust), 'off');
  await registry.push(createReadStream(bundle.path), { maxBytes: 64 << 20, pushedBy: 'test', at: h.clock.now() });
  for (const id of ids) h.store.devices.create(id, `secret-${id}`, {}, null, h.clock.now());
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: MAX_PAYLOAD, connectRateLimit: { perAddressPerMinute: 100_000 },
    devices: h.store.devices, metrics, logger, clock: h.clock,
  });
  await link.start();
  const parts = makeParts({ store: h.store, link, hubKey: h.keys.hub, clock: h.clock, logger, metrics });
  const captures = new CaptureService({ store: h.store, link, deployments: parts.deployments, clock: h.clock, logger, metrics, options: { publicKey: key.public } });
  captures.start();
  const blobs = new BlobServer({ store: h.store, link, logger });
  await parts.start();
  await blobs.start();
  await parts.deployments.deploy({ model: MODEL, version: '1.0.0', target: { devices: ids }, reason: 'hostile payloads' }, 'op');
  const { id: captureId } = captures.create({ model: MODEL, target: { devices: ids }, rate: 1, maxRows: 1000, durationSec: 7 * 86_400, reason: 'hostile payloads' }, 'op', () => {});
  const clients: MqttClient[] = [];
  return {
    h, parts, link, captures, bundle, metrics, logger, captureId, captureKeyId: key.keyId,
    async device(id) {
      const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
      clients.push(c);
      const got = collect(c);
      for (const t of ['ack', 'capture/ack', 'blob/data'] as const) await c.subscribeAsync(deviceTopic(id, t), { qos: 1 });
      return {
        c, got,
        publish: (topic, payload, opts = {}) => tryPublish(c, topic.startsWith('ef/') ? topic : deviceTopic(id, topic as DeviceTopicKind), payload, opts),
        acked: () => new Set(got.filter((m) => m.topic === deviceTopic(id, 'ack'))
          .flatMap((m) => (JSON.parse(m.payload) as { ranges: Array<[number, number]> }).ranges.flatMap(([a, b]) => (b - a < 1000 ? Array.from({ length: b - a + 1 }, (_x, i) => a + i) : [a, b])))),
      };
    },
    counter: (name, labels = {}) => metrics.counters.get(`${name}${JSON.stringify(labels)}`) ?? 0,
    async stop() {
      for (const c of clients) await c.endAsync(true);
      captures.stop();
      await blobs.stop();
      await parts.stop();
      await link.stop();
      h.close();
    },
  };
}

/** Publishes one honest window as `d` and waits until the hub acked and stored it. */
export async function honestRoundTrip(hub: HostileHub, d: HostileDevice, id: string, seq: number): Promise<void> {
  const before = hub.h.store.telemetry.countFor(id).windows;
  const r = await d.publish('telemetry', JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: id, windows: [honestWindow(seq)] }));
  if (r !== 'acked') throw new Error(`the honest device's publish was ${r}`);
  await waitFor(`the hub acking ${id}'s window ${seq}`, () => d.acked().has(seq) || undefined);
  await waitFor(`the hub storing ${id}'s window ${seq}`, () => hub.h.store.telemetry.countFor(id).windows === before + 1 || undefined);
}

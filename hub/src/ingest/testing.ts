// Test support for the ingest tests: a hub as the API tests run it (makeHarness: a real Store in a temp
// dir) with a signed bundle in its registry, the embedded aedes broker on 127.0.0.1:0, ingest and
// deployments (makeParts), and the bundle's version deployed to its devices. `send` publishes a device's
// windows as an mqtt.js client and waits for the hub's ack of every seq (refused windows are acked too,
// docs/hub.md "What the hub accepts from devices"). Used by accuracy.test.ts and plausibility-ingest.test.ts; startVibIngestHub by the batch tests and output-values-share.test.ts.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, waitFor, type BundleResult, type Keys } from '@edgefleet/examples';
import { EVENTS_SCHEMA, deviceTopic, inRanges, withReferenceId, type DeviceEvent, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { TEMP_MODE_FEATURES, tempModeReference } from '../rollups/testing.js';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { noopLogger, type LoggerPort, type MetricsPort } from '../mqtt/ports.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import type { IngestLimits } from './plausibility.js';

/** An ack as a device reads it (window-writer.ts ackPayload). */
export interface Ack { ranges: Array<[number, number]>; known?: Array<[number, number]>; maxSeq?: number }

export interface IngestHub {
  h: Harness;
  parts: Parts;
  /** What the broker's link logged and counted (the ingress: invalid messages, failed handlers). */
  linkLogger: RecordingLogger;
  linkMetrics: RecordingMetrics;
  /** The embedded broker's MQTT address. */
  mqttUrl: string;
  /** Publishes the windows as the device and waits for the hub's ack of every seq; returns the acks it got. */
  send(deviceId: string, windows: readonly SeqWindow[]): Promise<Ack[]>;
  /** The same for events. */
  sendEvents(deviceId: string, events: readonly DeviceEvent[]): Promise<Ack[]>;
  /** `keep`: the data dir stays (restartIngestHub). */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** `devices`: id -> tags. Each gets the secret `secret-<id>`. */
/** `database`: Store.open's (testing/backends.ts; default hub.db in the harness's temp dir). */
export async function startIngestHub(o: IngestHubOptions): Promise<IngestHub> {
  const h = makeHarness({ database: o.database });
  const registry = new Registry(h.store, bundleVerifier(() => o.trust), 'off');
  await registry.push(createReadStream(o.bundle.path), { maxBytes: 64 << 20, pushedBy: 'test', at: h.clock.now() });
  const ids = Object.keys(o.devices);
  for (const id of ids) h.store.devices.create(id, `secret-${id}`, o.devices[id] ?? {}, null, h.clock.now());
  const hub = await openIngestHub(h, o);
  const { name, version } = o.bundle.manifest;
  await hub.parts.deployments.deploy({ model: name, version, target: { devices: ids }, reason: 'ingest test' }, 'op');
  return hub;
}

type IngestHubOptions = { bundle: BundleResult; trust: TrustBody; keys: Pick<Keys, 'hub'>; devices: Record<string, Record<string, string>>; limits?: Partial<IngestLimits>; database?: string | undefined; logger?: LoggerPort; metrics?: MetricsPort };

/**
 * A restarted hub: the hub's broker, parts and store stopped (its clients ended), then started again on
 * the same hub.db (a new broker port); the returned hub replaces it (its stop removes the data dir).
 */
export async function restartIngestHub(hub: IngestHub, o: IngestHubOptions): Promise<IngestHub> {
  await hub.stop({ keep: true });
  const store = Store.open(hub.h.dir, HUB_MIGRATIONS);
  return openIngestHub({ ...hub.h, store, close: () => { store.close(); rmSync(hub.h.dir, { recursive: true, force: true }); } }, o);
}

/** The broker and the parts on the harness's store, started. */
async function openIngestHub(h: Harness, o: IngestHubOptions): Promise<IngestHub> {
  const linkLogger = new RecordingLogger();
  const linkMetrics = new RecordingMetrics();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: h.store.devices, metrics: linkMetrics, logger: linkLogger, clock: h.clock,
  });
  await link.start();
  const parts = makeParts({ store: h.store, link, hubKey: o.keys.hub, clock: h.clock, logger: o.logger ?? noopLogger, ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.limits ? { limits: o.limits } : {}) });
  await parts.start();
  const clients: MqttClient[] = [];
  const publish = async (id: string, topic: 'telemetry' | 'events', body: object, items: ReadonlyArray<{ seq: number }>): Promise<Ack[]> => {
    const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
    clients.push(c);
    const got = collect(c);
    await c.subscribeAsync(deviceTopic(id, 'ack'), { qos: 1 });
    await c.publishAsync(deviceTopic(id, topic), JSON.stringify(body), { qos: 1 });
    const acks = () => got.filter((m) => m.topic === deviceTopic(id, 'ack')).map((m) => JSON.parse(m.payload) as Ack);
    const acked = (seq: number) => acks().some((a) => inRanges(seq, a.ranges));
    await waitFor(`the hub acking ${id}'s ${topic}`, () => items.every((w) => acked(w.seq)) || undefined);
    return acks();
  };
  return {
    h,
    parts,
    linkLogger,
    linkMetrics,
    mqttUrl: link.address().mqtt,
    send(id, windows) {
      return publish(id, 'telemetry', { schema: 'edgefleet.telemetry/v1', deviceId: id, windows }, windows);
    },
    sendEvents(id, events) {
      return publish(id, 'events', { schema: EVENTS_SCHEMA, deviceId: id, events }, events);
    },
    async stop(opts) {
      for (const c of clients) await c.endAsync(true);
      await parts.stop();
      await link.stop();
      if (opts?.keep) h.store.close();
      else h.close();
    },
  };
}

/**
 * An ingest hub in a temp dir whose registry holds a small model vib 1.0.0, deployed to `devices` (no
 * tags); `stop` also removes the dir. `database`: as startIngestHub's. `reference`: the manifest has the
 * features and reference of tempModeReference (its output `score` binned in four, as the gates read it).
 */
export async function startVibIngestHub(prefix: string, devices: readonly string[], database?: string, reference = false): Promise<IngestHub> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const keys = makeKeys(join(root, 'keys'));
  const trust = makeTrust(root, keys).body;
  const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
  const { id: _id, ...profile } = tempModeReference('');
  const withReference = reference ? { features: TEMP_MODE_FEATURES, reference: withReferenceId(profile) } : {};
  const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: 'vib', version: '1.0.0', keys, ...withReference });
  const hub = await startIngestHub({ bundle, trust, keys, devices: Object.fromEntries(devices.map((d) => [d, {}])), database });
  return {
    ...hub,
    async stop() {
      await hub.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// Test support for the ingest tests: a hub as the API tests run it (makeHarness: a real Store in a temp
// dir) with a signed bundle in its registry, the embedded aedes broker on 127.0.0.1:0, ingest and
// deployments (makeParts), and the bundle's version deployed to its devices. `send` publishes a device's
// windows as an mqtt.js client and waits for the hub's ack of every seq (refused windows are acked too,
// docs/hub.md "What the hub accepts from devices"). Used by accuracy.test.ts and plausibility-ingest.test.ts; startVibIngestHub by the batch tests.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, waitFor, type BundleResult, type Keys } from '@edgefleet/examples';
import { deviceTopic, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { noopLogger, type LoggerPort, type MetricsPort } from '../mqtt/ports.js';
import { makeHarness, type Harness } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import type { IngestLimits } from './plausibility.js';

export interface IngestHub {
  h: Harness;
  parts: Parts;
  /** What the broker's link logged and counted (the ingress: invalid messages, failed handlers). */
  linkLogger: RecordingLogger;
  linkMetrics: RecordingMetrics;
  /** The embedded broker's MQTT address. */
  mqttUrl: string;
  /** Publishes the windows as the device and waits for the hub's ack of every seq. */
  send(deviceId: string, windows: readonly SeqWindow[]): Promise<void>;
  stop(): Promise<void>;
}

/** `devices`: id -> tags. Each gets the secret `secret-<id>`. */
/** `database`: Store.open's (testing/backends.ts; default hub.db in the harness's temp dir). */
export async function startIngestHub(o: { bundle: BundleResult; trust: TrustBody; keys: Pick<Keys, 'hub'>; devices: Record<string, Record<string, string>>; limits?: Partial<IngestLimits>; database?: string | undefined; logger?: LoggerPort; metrics?: MetricsPort }): Promise<IngestHub> {
  const h = makeHarness({ database: o.database });
  const registry = new Registry(h.store, bundleVerifier(() => o.trust));
  await registry.push(createReadStream(o.bundle.path), { maxBytes: 64 << 20, pushedBy: 'test', at: h.clock.now() });
  const ids = Object.keys(o.devices);
  for (const id of ids) h.store.devices.create(id, `secret-${id}`, o.devices[id] ?? {}, null, h.clock.now());
  const linkLogger = new RecordingLogger();
  const linkMetrics = new RecordingMetrics();
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: h.store.devices, metrics: linkMetrics, logger: linkLogger, clock: h.clock,
  });
  await link.start();
  const parts = makeParts({ store: h.store, link, hubKey: o.keys.hub, clock: h.clock, logger: o.logger ?? noopLogger, ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.limits ? { limits: o.limits } : {}) });
  await parts.start();
  const { name, version } = o.bundle.manifest;
  await parts.deployments.deploy({ model: name, version, target: { devices: ids }, reason: 'ingest test' }, 'op');
  const clients: MqttClient[] = [];
  return {
    h,
    parts,
    linkLogger,
    linkMetrics,
    mqttUrl: link.address().mqtt,
    async send(id, windows) {
      const c = await connectDevice(link.address().mqtt, id, `secret-${id}`);
      clients.push(c);
      const got = collect(c);
      await c.subscribeAsync(deviceTopic(id, 'ack'), { qos: 1 });
      await c.publishAsync(deviceTopic(id, 'telemetry'), JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: id, windows }), { qos: 1 });
      const acked = (seq: number) => got.some((m) => m.topic === deviceTopic(id, 'ack') && (JSON.parse(m.payload) as { ranges: number[][] }).ranges.some(([a, b]) => seq >= a! && seq <= b!));
      await waitFor(`the hub acking ${id}'s windows`, () => windows.every((w) => acked(w.seq)) || undefined);
    },
    async stop() {
      for (const c of clients) await c.endAsync(true);
      await parts.stop();
      await link.stop();
      h.close();
    },
  };
}

/** An ingest hub in a temp dir whose registry holds a small model vib 1.0.0, deployed to `devices` (no tags); `stop` also removes the dir. */
export async function startVibIngestHub(prefix: string, devices: readonly string[]): Promise<IngestHub> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const keys = makeKeys(join(root, 'keys'));
  const trust = makeTrust(root, keys).body;
  const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
  const bundle = await bundleFromOnnx({ dir: join(root, 'bundles'), onnx: mlp.onnx, io: mlp.io, name: 'vib', version: '1.0.0', keys });
  const hub = await startIngestHub({ bundle, trust, keys, devices: Object.fromEntries(devices.map((d) => [d, {}])) });
  return {
    ...hub,
    async stop() {
      await hub.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

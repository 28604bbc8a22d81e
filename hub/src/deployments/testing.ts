// Test environment of the deployments tests: a real Store (temp dir; the suite's database backend),
// real signed bundles 1.0.0-3.0.0 pushed through the Registry, the embedded aedes broker on 127.0.0.1:0
// authenticating against the store's devices, the ingest and deployments parts, a manual clock, and
// mqtt.js device clients (MQTT 3.1.1). Desired documents are checked with the shared verifier.
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { buildMultiBundle, makeKeys, makeTrust, type BundleResult, type Keys } from '@edgefleet/examples';
import { DesiredBody, deviceTopic, newCaptureKeyFile, verifyEnvelope, type DesiredDocument, type TrustBody } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Registry, bundleVerifier, type BackendCheck } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics, collect, connectDevice } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { CaptureService } from '../capture/service.js';
import { SIGN_CHUNK } from './signed-ahead.js';

export interface Fixture {
  root: string;
  keys: Keys;
  trust: TrustBody;
  bundles: Record<string, BundleResult>;
}

let fx: Fixture | null = null;

/** Call from before(): keys, trust and the three bundles. */
export async function prepare(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ef-sync-'));
  const keys = makeKeys(join(root, 'keys'));
  const bundles: Record<string, BundleResult> = {};
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) bundles[v] = await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: v });
  fx = { root, keys, trust: makeTrust(root, keys).body, bundles };
}

/** Call from after(). */
export function cleanup(): void {
  if (fx) rmSync(fx.root, { recursive: true, force: true });
  fx = null;
}

/** What prepare() made. */
export function fixture(): Fixture {
  if (!fx) throw new Error('call prepare() from before() first');
  return fx;
}

export interface TestHub {
  store: Store;
  /** The hub's current trust (the fixture's until a test rotates it): the deployments part checks versions against it. */
  trust: TrustBody;
  /** Pushes a bundle file through the Registry, verified against the fixture's trust. */
  push(path: string): Promise<void>;
  link: FleetLink;
  parts: Parts;
  /** The capture part, when started with `capture`. */
  captures?: CaptureService;
  clock: ManualClock;
  /** What the parts logged. */
  logger: RecordingLogger;
  url: string;
  clients: MqttClient[];
  close(): Promise<void>;
}

let hubN = 0;
/** The capture public key of every hub started with `capture` (their documents compare equal). */
let captureKey: string | undefined;
/**
 * `database`: Store.open's (a PostgreSQL URL from testing/backends.ts; default hub.db in the hub's dir).
 * `backendCheck`: the Registry's; 'off' unless a test reads the backends a push found (registry.ts BackendCheck).
 * `capture`: with the capture part (TestHub.captures), on a capture key of its own.
 */
export async function startHub(opts: { database?: string | undefined; ttlMs?: number; renewBeforeMs?: number; backendCheck?: BackendCheck; capture?: boolean } = {}): Promise<TestHub> {
  const { root, keys, trust, bundles } = fixture();
  const store = Store.open(join(root, `hub-${++hubN}`), HUB_MIGRATIONS, { database: opts.database });
  const clock = new ManualClock();
  const registry = new Registry(store, bundleVerifier(() => trust), opts.backendCheck ?? 'off');
  const push = async (path: string) => { await registry.push(createReadStream(path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() }); };
  for (const b of Object.values(bundles)) await push(b.path);
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock,
  });
  await link.start();
  const logger = new RecordingLogger();
  let captures: CaptureService | undefined;
  const parts = makeParts({
    store, link, hubKey: keys.hub, clock, logger, trust: () => h.trust,
    ...(opts.capture ? { desiredCapture: (id: string) => captures?.desiredFor(id) ?? [] } : {}),
    deployments: { desiredTtlMs: opts.ttlMs ?? 14 * 86400_000, renewBeforeMs: opts.renewBeforeMs ?? 7 * 86400_000, renewEveryMs: 3600_000 },
  });
  if (opts.capture) captures = new CaptureService({ store, link, deployments: parts.deployments, clock, logger, options: { publicKey: (captureKey ??= newCaptureKeyFile().public) } });
  await parts.start();
  const clients: MqttClient[] = [];
  const h: TestHub = {
    store, trust, push, link, parts, ...(captures ? { captures } : {}), clock, logger, url: link.address().mqtt, clients,
    async close() {
      for (const c of clients) await c.endAsync(true);
      await parts.stop();
      await link.stop();
      store.close();
    },
  };
  return h;
}

export function addDevice(h: TestHub, id: string, tags: Record<string, string> = {}): void {
  h.store.devices.create(id, `secret-${id}`, tags, null, h.clock.now());
}

/** A connected device client subscribed to its desired and ack topics, with what it received. */
export async function device(h: TestHub, id: string) {
  const c = await connectDevice(h.url, id, `secret-${id}`);
  h.clients.push(c);
  const got = collect(c);
  await c.subscribeAsync([deviceTopic(id, 'desired'), deviceTopic(id, 'ack')], { qos: 1 });
  const desired = () => got.filter((m) => m.topic === deviceTopic(id, 'desired')).map((m) => JSON.parse(m.payload) as DesiredDocument);
  const acks = () => got.filter((m) => m.topic === deviceTopic(id, 'ack')).map((m) => JSON.parse(m.payload) as { ranges: Array<[number, number]> });
  return { c, got, desired, acks };
}

/** The device's latest desired document as delivered over MQTT, verified against the hub key in trust. */
export function verified(doc: DesiredDocument | undefined): DesiredBody {
  assert.ok(doc, 'expected a desired document');
  return verifyEnvelope(doc, fixture().trust, 'hub', DesiredBody, 'desired document');
}

/** An install event of audio-energy `version` as the agent's outbox sends it. */
export function event(seq: number, kind: string, version: string, extra: Record<string, unknown> = {}) {
  return { seq, at: '2026-03-01T12:00:00.000Z', kind, model: 'audio-energy', version, message: `${kind} ${version}`, ...extra };
}

/** Device ids d-000, d-001, ... */
export const fleetIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `d-${String(i).padStart(3, '0')}`);

/** A hub with `n` devices tagged ring=a (signed-ahead tests: docs/decisions/0170-deployments-signed-ahead-in-chunks.md). */
export async function fleetHub(n: number, opts: Parameters<typeof startHub>[0] = {}): Promise<TestHub> {
  const h = await startHub(opts);
  h.store.db.transaction(() => fleetIds(n).forEach((id) => addDevice(h, id, { ring: 'a' })))();
  return h;
}

/** What the signer logged of each change of `kind` it signed ahead and stored. */
export const signedLog = (h: TestHub, kind: string) => h.logger.lines.filter((l) => l.msg === `${kind} signed ahead and stored`).map((l) => l.obj);

/** Waits, a turn of the event loop at a time (the signer signs a chunk a turn), until the first chunk of a `kind` is signed. */
export async function firstChunkSigned(h: TestHub, kind = 'deployment'): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const p = h.parts.deployments.signingAhead();
    if (p && p.signed >= SIGN_CHUNK) {
      assert.equal(p.kind, kind);
      assert.ok(p.signed < p.devices, 'expected the change still being signed');
      return;
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`no ${kind} was ever being signed ahead`);
}

/** Rows in a hub.db table. */
export const rowCount = (h: TestHub, table: string): number => (h.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

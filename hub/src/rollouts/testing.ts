// Test environment for the rollout engine: a real Store (temp dir, every hub migration), real bundles
// 1.0.0-3.0.0 in the registry, the embedded aedes broker on 127.0.0.1:0, a manual clock, and the device
// reports written where ingest writes them (deployment status, stored windows).
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, type BundleResult, type Keys } from '@edgefleet/examples';
import mqtt from 'mqtt';
import { STATE_SCHEMA, addLatency, deviceTopic, emptyLatency, type ReportedModel, type RolloutCreate, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import type { RolloutRecord } from '../store/rollouts-repo.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Registry, bundleVerifier } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { RolloutEngine, type RolloutOptions } from './engine.js';
import { RollupGateData } from './rollup-gate-data.js';
import { Metrics } from '../metrics.js';
import { createApp } from '../api/app.js';
import { cliOver, type InProcessCli } from '../testing/cli.js';

let root: string;
let keys: Keys;
let trust: TrustBody;
const bundles: BundleResult[] = [];
/** Call from before(): keys, trust and the three bundles. */
export async function prepare(): Promise<void> {
  // Test files that share a process call it once each (docs/decisions/0145-short-test-files-share-a-process.md).
  bundles.length = 0;
  root = mkdtempSync(join(tmpdir(), 'ef-rollout-'));
  keys = makeKeys(join(root, 'keys'));
  trust = makeTrust(root, keys).body;
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) bundles.push(await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: v }));
}

/** Trust version 2 after a release key rotation: its release role lists only the `untrusted` key, so no bundle here is signed by a current key. */
export function rotatedTrust(): TrustBody {
  return makeTrust(join(root, 'rotated'), { ...keys, release: keys.untrusted }, { version: 2 }).body;
}

/** Call from after(). */
export function cleanup(): void {
  rmSync(root, { recursive: true, force: true });
}

export interface Env {
  dir: string;
  store: Store;
  /** The hub's current trust (version 1 until a test rotates it, e.g. to rotatedTrust()): versions sent are checked against it. */
  trust: TrustBody;
  clock: ManualClock;
  link: FleetLink;
  parts: Parts;
  engine: RolloutEngine;
  seq: Map<string, number>;
  /** A new store and engine on the same hub.db, as after kill -9 (the old ones are dropped unclosed first). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

let n = 0;
/** `database`: Store.open's (a PostgreSQL URL from testing/backends.ts; default hub.db in the env's dir). */
export async function setup(devices: number, opts: Partial<RolloutOptions> = {}, database?: string): Promise<Env> {
  const dir = join(root, `hub-${++n}`);
  const clock = new ManualClock();
  let store = Store.open(dir, HUB_MIGRATIONS, { database });
  const registry = new Registry(store, bundleVerifier(() => trust), 'off'); // the backends a push finds: deployments/backends.test.ts
  for (const b of bundles) await registry.push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() });
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock,
  });
  await link.start();
  for (let i = 0; i < devices; i++) store.devices.create(`d-${String(i).padStart(3, '0')}`, `secret-${i}`, { ring: 'a' }, null, clock.now());
  const build = () => {
    const parts = makeParts({ store, link, hubKey: keys.hub, clock, logger: new RecordingLogger(), trust: () => env.trust });
    const logger = new RecordingLogger();
    const engine = new RolloutEngine({ store, deployments: parts.deployments, gateData: new RollupGateData(store), clock, logger, options: { tickMs: 3_600_000, desiredPerMinute: 1e6, ...opts } });
    // A step that fails is logged and skipped by the engine (the next tick retries it); here it is
    // thrown from the tick that ran it, so a test fails on the cause, not on a count read afterwards.
    const tick = engine.tick.bind(engine);
    engine.tick = async () => {
      await tick();
      const failed = logger.lines.splice(0).find((l) => l.level === 'error');
      if (failed) throw (failed.obj as { err?: unknown }).err ?? new Error(failed.msg ?? 'a rollout step failed');
    };
    return { parts, engine };
  };
  let { parts, engine } = build();
  await parts.start();
  await engine.start();
  const env: Env = {
    dir, store, trust, clock, link, parts, engine, seq: new Map(),
    async restart() {
      await engine.stop();
      await parts.stop();
      store.close();
      store = Store.open(dir, HUB_MIGRATIONS, { database });
      ({ parts, engine } = build());
      Object.assign(env, { store, parts, engine });
      await parts.start();
      await engine.start();
    },
    async close() {
      await engine.stop();
      await parts.stop();
      await link.stop();
      store.close();
    },
  };
  return env;
}

/** A one-minute window of `count` predictions: `bad` of them model failures, outputs in `bins` (energy's 7 bins). */
export function win(seq: number, version: string, start: Date, count: number, opts: { bad?: number; ms?: number; bins?: number[]; failed?: string } = {}): SeqWindow {
  const latency = emptyLatency();
  for (let i = 0; i < count; i++) addLatency(latency, opts.ms ?? 5);
  // `failed`: `count` requests, each refused with this code, so no row answered.
  if (opts.failed) {
    return { seq, model: 'audio-energy', version, start: start.toISOString(), lengthSec: 60, count: 0, errors: { [opts.failed]: count }, latency, errorLatency: latency, features: [], inputs: [], outputs: [] };
  }
  const bins = opts.bins ?? [0, count / 4, count / 2, count / 4, 0, 0, 0].map(Math.round);
  return {
    seq, model: 'audio-energy', version, start: start.toISOString(), lengthSec: 60, count, errors: opts.bad ? { INFERENCE_FAILED: opts.bad } : {},
    latency, features: [], inputs: [],
    outputs: [{ name: 'energy', index: 0, hist: { counts: bins, under: 0, over: 0 }, moments: { n: count, mean: 0.03, m2: 0, min: 0, max: 1 } }],
  };
}

/** What the devices would report: each device told to run a version is active on it and sends a window. */
export function report(e: Env, ids: readonly string[], version: string, o: Parameters<typeof win>[4] = {}): void {
  const now = e.clock.now();
  for (const id of ids) {
    e.store.deployments.setStatus(id, 'audio-energy', version, 'active', now, { progress: 1 });
    const s = (e.seq.get(id) ?? 0) + 1;
    e.seq.set(id, s);
    e.store.telemetry.putWindows(id, [win(s, version, new Date(now.getTime() - 30_000), 100, o)], now);
  }
}

/** The wave's told devices (`told`) report the new version and the others 1.0.0 over a bake (61 s), then the engine steps. */
export async function bake(e: Env, rolloutId: string, told: readonly string[]): Promise<void> {
  e.clock.advance(30_000);
  report(e, told, '2.0.0');
  report(e, others(e, rolloutId), '1.0.0');
  e.clock.advance(31_000);
  report(e, told, '2.0.0');
  await e.engine.tick();
}

/** A device's own state report over the real broker (retained), naming `model` (audio-energy). */
export async function publishState(e: Env, id: string, model: Omit<ReportedModel, 'name' | 'previous'>): Promise<void> {
  const c = await mqtt.connectAsync(e.link.address().mqtt, { protocolVersion: 4, clientId: id, username: id, password: `secret-${Number(id.slice(2))}`, reconnectPeriod: 0 });
  try {
    const state = {
      schema: STATE_SCHEMA, deviceId: id, at: e.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: e.store.desired.latest(id)?.signed.seq ?? 0, trustVersion: 1,
      models: [{ name: 'audio-energy', previous: null, ...model }], capabilities: [],
    };
    await c.publishAsync(deviceTopic(id, 'state'), JSON.stringify(state), { qos: 1, retain: true });
  } finally {
    await c.endAsync();
  }
}

export const notified = (e: Env, id: string) => e.store.rollouts.devices(id).filter((d) => d.notifiedAt !== null).map((d) => d.deviceId);
export const others = (e: Env, id: string) => e.store.rollouts.devices(id).filter((d) => d.notifiedAt === null).map((d) => d.deviceId);
export const actions = (e: Env, id: string) => e.store.audit.query({}).filter((a) => a.target === id).map((a) => a.action);
export const running = (e: Env, v: string) => e.store.devices.list().filter((d) => e.store.desired.latest(d.id)?.signed.models[0]?.version === v).length;

/** v1 everywhere, as the rollout's starting point. */
export async function v1Everywhere(e: Env): Promise<void> {
  await e.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'v1' }, 'op');
  report(e, e.store.devices.list().map((d) => d.id), '1.0.0');
}

export const WAVES = [{ name: 'canary', percent: 10, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
export const GATES = { minPredictions: 150 };

/** 1.0.0 on every device, then a rollout of 3.0.0 to all of them (WAVES, `gates` or GATES, rolled back on failure) and its canary's devices. */
export async function v3OverV1(e: Env, gates: RolloutCreate['gates'] = GATES): Promise<{ r: RolloutRecord; canary: string[] }> {
  await v1Everywhere(e);
  const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: WAVES, gates, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
  return { r, canary: notified(e, r.id) };
}


/** The hub's REST app over the environment's parts (tests call app.request() or serve it on port 0). */
export function appOf(e: Env) {
  return createApp({
    store: e.store, metrics: new Metrics(), clock: e.clock, trust: () => { throw new Error('unused'); }, brokers: () => [], fleet: null,
    maxBundleBytes: 1 << 20, verifyBundle: () => Promise.reject(new Error('unused')), deployments: e.parts.deployments, ingest: e.parts.ingest, rollouts: e.engine,
  });
}

/** `POST /api/v1/rollouts/{id}/{action} {reason, ...more}` through the REST app as an operator: the status and the body (a rollout, or `error`). */
export async function actOverRest(e: Env, id: string, action: string, reason: string, more: object = {}): Promise<{ status: number; body: { state?: string; error?: { code: string; message: string; details?: unknown } } }> {
  const token = e.store.tokens.create(`op-${randomBytes(4).toString('hex')}`, 'operator', 'test', e.clock.now()).token;
  const res = await appOf(e).request(`/api/v1/rollouts/${id}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason, ...more }) });
  return { status: res.status, body: (await res.json()) as { state?: string; error?: { code: string; message: string; details?: unknown } } };
}

/** The environment's REST app served on 127.0.0.1:0, and `edgefleet ARGS` run in process against it with an operator token. */
export async function cliAgainst(e: Env): Promise<InProcessCli> {
  return cliOver(appOf(e), e.store.tokens.create('ops', 'operator', 'test', e.clock.now()).token, e.dir);
}

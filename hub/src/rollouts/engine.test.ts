// The rollout engine on a real Store (temp dir, every hub migration), real bundles in the registry, the
// embedded aedes broker on 127.0.0.1:0 and a manual clock. Devices' reports are written where ingest
// writes them (deployment status, stored windows); the scenario test runs real agents.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMultiBundle, makeKeys, makeTrust, type BundleResult, type Keys } from '@edgefleet/examples';
import { addLatency, emptyLatency, verifyBundle, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { Registry } from '../registry.js';
import { createEmbeddedBroker } from '../mqtt/embedded.js';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger, RecordingMetrics } from '../mqtt/testing/devices.js';
import { ManualClock } from '../testing/harness.js';
import { makeParts, type Parts } from '../testing/parts.js';
import { RolloutEngine, type RolloutOptions } from './engine.js';
import { WindowGateData } from './gate-data.js';

let root: string;
let keys: Keys;
let trust: TrustBody;
const bundles: BundleResult[] = [];
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ef-rollout-'));
  keys = makeKeys(join(root, 'keys'));
  trust = makeTrust(root, keys).body;
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) bundles.push(await buildMultiBundle({ dir: join(root, 'bundles'), keys, version: v }));
});
after(() => rmSync(root, { recursive: true, force: true }));

interface Env {
  dir: string;
  store: Store;
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
async function setup(devices: number, opts: Partial<RolloutOptions> = {}): Promise<Env> {
  const dir = join(root, `hub-${++n}`);
  const clock = new ManualClock();
  let store = Store.open(dir, HUB_MIGRATIONS);
  const registry = new Registry(store, async (path) => {
    const v = await verifyBundle(path, trust);
    return { manifest: v.manifest, manifestSha256: v.manifestSha256, signatures: v.signatures.signatures };
  });
  for (const b of bundles) await registry.push(createReadStream(b.path), { maxBytes: 64 << 20, pushedBy: 'test', at: clock.now() });
  const link = createEmbeddedBroker({
    tcpPort: 0, host: '127.0.0.1', maxPayloadBytes: 256 * 1024, connectRateLimit: { perAddressPerMinute: 10_000 },
    devices: store.devices, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock,
  });
  await link.start();
  for (let i = 0; i < devices; i++) store.devices.create(`d-${String(i).padStart(3, '0')}`, `secret-${i}`, { ring: 'a' }, null, clock.now());
  const build = () => {
    const parts = makeParts({ store, link, hubKey: keys.hub, clock, logger: new RecordingLogger() });
    const engine = new RolloutEngine({ store, deployments: parts.deployments, gateData: new WindowGateData(store.db), clock, logger: new RecordingLogger(), options: { tickMs: 3_600_000, desiredPerMinute: 1e6, ...opts } });
    return { parts, engine };
  };
  let { parts, engine } = build();
  await parts.start();
  await engine.start();
  const env: Env = {
    dir, store, clock, link, parts, engine, seq: new Map(),
    async restart() {
      await engine.stop();
      await parts.stop();
      store.close();
      store = Store.open(dir, HUB_MIGRATIONS);
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
function win(seq: number, version: string, start: Date, count: number, opts: { bad?: number; ms?: number; bins?: number[] } = {}): SeqWindow {
  const latency = emptyLatency();
  for (let i = 0; i < count; i++) addLatency(latency, opts.ms ?? 5);
  const bins = opts.bins ?? [0, count / 4, count / 2, count / 4, 0, 0, 0].map(Math.round);
  return {
    seq, model: 'audio-energy', version, start: start.toISOString(), lengthSec: 60, count, errors: opts.bad ? { INFERENCE_FAILED: opts.bad } : {},
    latency, features: [], inputs: [],
    outputs: [{ name: 'energy', index: 0, hist: { counts: bins, under: 0, over: 0 }, moments: { n: count, mean: 0.03, m2: 0, min: 0, max: 1 } }],
  };
}

/** What the devices would report: each device told to run a version is active on it and sends a window. */
function report(e: Env, ids: readonly string[], version: string, o: Parameters<typeof win>[4] = {}): void {
  const now = e.clock.now();
  for (const id of ids) {
    e.store.deployments.setStatus(id, 'audio-energy', version, 'active', now, { progress: 1 });
    const s = (e.seq.get(id) ?? 0) + 1;
    e.seq.set(id, s);
    e.store.telemetry.putWindows(id, [win(s, version, new Date(now.getTime() - 30_000), 100, o)], now);
  }
}

const notified = (e: Env, id: string) => e.store.rollouts.devices(id).filter((d) => d.notifiedAt !== null).map((d) => d.deviceId);
const others = (e: Env, id: string) => e.store.rollouts.devices(id).filter((d) => d.notifiedAt === null).map((d) => d.deviceId);
const actions = (e: Env, id: string) => e.store.audit.query({}).filter((a) => a.target === id).map((a) => a.action);
const running = (e: Env, v: string) => e.store.devices.list().filter((d) => e.store.desired.latest(d.id)?.signed.models[0]?.version === v).length;

/** v1 everywhere, as the rollout's starting point. */
async function v1Everywhere(e: Env): Promise<void> {
  await e.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'v1' }, 'op');
  report(e, e.store.devices.list().map((d) => d.id), '1.0.0');
}

const WAVES = [{ name: 'canary', percent: 10, minDevices: 2, bakeSec: 60 }, { name: 'all', percent: 100, bakeSec: 60 }];
const GATES = { minPredictions: 150 };

describe('rollout engine', () => {
  it('a good version walks canary -> all and completes; every transition is audited with its numbers', async () => {
    const e = await setup(20);
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { tags: { ring: 'a' } }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      assert.equal(r.fromVersion, '1.0.0');
      const canary = notified(e, r.id);
      assert.ok(canary.length >= 2 && canary.length < 10, `canary of ${canary.length}`);
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'baking');
      e.clock.advance(30_000);
      report(e, canary, '2.0.0');
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      assert.equal(e.store.rollouts.get(r.id).progress[0]?.state, 'baking', 'still baking at 30 s of 60');
      e.clock.advance(31_000);
      report(e, canary, '2.0.0');
      await e.engine.tick();
      const afterCanary = e.store.rollouts.get(r.id);
      assert.equal(afterCanary.progress[0]?.state, 'passed', JSON.stringify(afterCanary.progress[0]?.gates));
      assert.equal(afterCanary.currentWave, 1);
      await e.engine.tick();
      assert.equal(notified(e, r.id).length, 20);
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      const done = e.engine.view(r.id);
      assert.equal(done.state, 'completed', JSON.stringify(done.waves[1]?.gates));
      assert.equal(running(e, '2.0.0'), 20);
      assert.deepEqual(actions(e, r.id), [
        'rollout.create', 'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_passed', 'rollout.wave_next',
        'rollout.wave_deploying', 'rollout.wave_baking', 'rollout.wave_evaluating', 'rollout.wave_passed', 'rollout.completed',
      ]);
      const passed = e.store.audit.query({}).find((a) => a.action === 'rollout.wave_passed');
      const gates = (passed?.details as { gates: Array<{ name: string; value: number; samples: { wave: number; control: number } }> }).gates;
      assert.equal(gates.find((g) => g.name === 'model_error_rate')?.value, 0);
      assert.ok((gates.find((g) => g.name === 'predictions')?.samples.control ?? 0) > 0, 'control devices were counted');
    } finally {
      await e.close();
    }
  });

  it('a regressed version is stopped at canary by its gates and rolled back to the previous version', async () => {
    const e = await setup(20);
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '3.0.0', target: { all: true }, waves: WAVES, gates: GATES, advance: 'auto', onFailure: 'rollback', reason: 'v3' }, { name: 'op' });
      const canary = notified(e, r.id);
      e.clock.advance(61_000);
      // Wrong on part of the input space: its outputs pile into the top bins, and some requests fail in the model.
      report(e, canary, '3.0.0', { bins: [0, 0, 0, 10, 20, 30, 40], bad: 8 });
      report(e, others(e, r.id), '1.0.0');
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'rolled_back');
      const g = Object.fromEntries((v.waves[0]?.gates ?? []).map((x) => [x.name, x]));
      assert.equal(g['output_shift']?.verdict, 'fail');
      assert.equal(g['model_error_rate']?.verdict, 'fail');
      assert.equal(g['model_error_rate']?.value, 8);
      for (const id of canary) assert.equal(e.store.desired.latest(id)?.signed.models[0]?.version, '1.0.0', `${id} back on 1.0.0`);
      assert.equal(running(e, '3.0.0'), 0);
      const failed = e.store.audit.query({}).find((a) => a.action === 'rollout.wave_failed' && a.target === r.id);
      assert.match(failed?.reason ?? '', /output_shift .* \(threshold 0.2\)/);
      assert.ok(actions(e, r.id).includes('rollout.rolled_back'));
    } finally {
      await e.close();
    }
  });

  it('a wave never passes on too few reports; stuck past gates.stuckSec it pauses with the reason', async () => {
    const e = await setup(10);
    try {
      await v1Everywhere(e);
      const r = await e.engine.create({ model: 'audio-energy', version: '2.0.0', target: { all: true }, waves: WAVES, gates: { minPredictions: 10_000, stuckSec: 120 }, advance: 'auto', onFailure: 'rollback', reason: 'v2' }, { name: 'op' });
      e.clock.advance(61_000);
      report(e, notified(e, r.id), '2.0.0');
      await e.engine.tick();
      assert.equal(e.engine.view(r.id).waves[0]?.state, 'evaluating');
      e.clock.advance(121_000);
      await e.engine.tick();
      const v = e.engine.view(r.id);
      assert.equal(v.state, 'paused');
      assert.match(v.stateReason ?? '', /stuck .* predictions \d+ \(needs 10000\)/);
    } finally {
      await e.close();
    }
  });
});

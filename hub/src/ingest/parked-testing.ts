// Test support for the parked windows tests (parked.test.ts, parked-bounds.test.ts): a hub whose registry
// holds vib 1.0.0 (deployed to its devices) and not 2.0.0, whose signed bundle it keeps to push later;
// windows of any version; what a device has stored.
import { after, before } from 'node:test';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromOnnx, makeKeys, makeTrust, randomMlp, type BundleResult } from '@edgefleet/examples';
import { emptyLatency, type SeqWindow, type TrustBody } from '@edgefleet/shared';
import { Registry, bundleVerifier } from '../registry.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { IngestLimits } from './plausibility.js';
import { restartIngestHub, startIngestHub, type IngestHub } from './testing.js';

export const MODEL = 'vib';

/** A window of two predictions, a minute from 2026-02-28T00:00 on: before the harness clock (2026-03-01T12:00) up to seq 2159. */
export function win(seq: number, version: string, model = MODEL): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = 2;
  return {
    seq, model, version, start: new Date(Date.parse('2026-02-28T00:00:00.000Z') + seq * 60_000).toISOString(), lengthSec: 60, count: 2, errors: {},
    latency: { ...latency, sumMs: 2 }, features: [], outputs: [], inputs: [],
  };
}

export interface HubWithout2 {
  hub: IngestHub;
  v2: BundleResult;
  trust: TrustBody;
  /** Stops the hub and starts it again on the same hub.db (hub.db only): `hub` is the restarted one. */
  restart(): Promise<void>;
}

/**
 * Registers before/after hooks of a hub whose registry holds 1.0.0 (deployed to `devices`) and not 2.0.0;
 * `database()` names the backend (testing/backends.ts). Removed after the suite.
 */
export function hubWithout2(devices: string[], o: { limits?: Partial<IngestLimits>; database(): string | undefined; logger?: LoggerPort; metrics?: MetricsPort }): HubWithout2 {
  const t = {} as HubWithout2 & { root: string };
  before(async () => {
    t.root = mkdtempSync(join(tmpdir(), 'ef-parked-'));
    const keys = makeKeys(join(t.root, 'keys'));
    t.trust = makeTrust(t.root, keys).body;
    const mlp = randomMlp({ inputDim: 2, hidden: [4], outputDim: 1, inputName: 'x', outputName: 'score', output: 'sigmoid' });
    const v1 = await bundleFromOnnx({ dir: join(t.root, 'v1'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '1.0.0', keys });
    t.v2 = await bundleFromOnnx({ dir: join(t.root, 'v2'), onnx: mlp.onnx, io: mlp.io, name: MODEL, version: '2.0.0', keys });
    const opts = {
      bundle: v1, trust: t.trust, keys, devices: Object.fromEntries(devices.map((d) => [d, {}])), limits: { maxSeqGap: 10_000, ...o.limits }, database: o.database(),
      ...(o.logger ? { logger: o.logger } : {}), ...(o.metrics ? { metrics: o.metrics } : {}),
    };
    t.hub = await startIngestHub(opts);
    t.restart = async () => {
      t.hub = await restartIngestHub(t.hub, opts);
    };
  });
  after(async () => {
    await t.hub.stop();
    rmSync(t.root, { recursive: true, force: true });
  });
  return t;
}

/** The device's stored windows as "seq version", by seq. */
export const stored = (hub: IngestHub, id: string) => (hub.h.store.db.prepare('SELECT seq, version FROM device_windows WHERE device_id = ? ORDER BY seq').all(id) as Array<{ seq: number; version: string }>)
  .map((r) => `${r.seq} ${r.version}`);

/** Pushes 2.0.0 to the hub's registry. */
export const push = (t: HubWithout2) =>
  new Registry(t.hub.h.store, bundleVerifier(() => t.trust), 'off').push(createReadStream(t.v2.path), { maxBytes: 64 << 20, pushedBy: 'test', at: t.hub.h.clock.now() });

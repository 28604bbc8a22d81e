// A real hub (embedded broker, hub.db) fed by simulated devices over MQTT, their windows drawn from
// the example model's reference as in the drift known-answer scenario (test/src/sim/windows.ts):
// devices of site "north" have one feature's mean shifted by a standard deviation, "south" is in
// distribution, "east" sent too few predictions for a verdict. North's and south's windows carry labels
// (LABELS) and confidences; east's none. Shared by the console's browser tests
// of the drift, alerts and device views and of the desktop bridge.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest, SummaryWindow } from '@edgefleet/shared';
import { buildExampleBundle, makeKeys, makeRng, makeTrust, waitFor } from '@edgefleet/examples';
import type { Hub } from '@edgefleet/hub';
import { FleetSimulator, sampleWindow, type SimDevice } from '../sim/index.js';
import { taggedHub } from '../sim/tagged-hub.js';

export const HOURS = 3;
export const PER_HOUR = 6;
export const DRIFT_SITES: Record<string, string> = { 'dev-n0': 'north', 'dev-n1': 'north', 'dev-n2': 'north', 'dev-s0': 'south', 'dev-e0': 'east' };

/**
 * Labels per window by site (rows = label, columns = predicted; the example model's two classes):
 * north's model is right 36 of 60 times (60 %), south's 57 of 60 (95 %); east sends none. Every
 * labelled site's windows say the predicted class had confidence 0.9 (CBPE's expected accuracy).
 */
export const LABELS: Record<string, { labelled: number; correct: number; confusion: number[] }> = {
  north: { labelled: 60, correct: 36, confusion: [20, 14, 10, 16] },
  south: { labelled: 60, correct: 57, confusion: [30, 2, 1, 27] },
};
export const EXPECTED = 0.9;

export interface DriftFleet {
  dir: string;
  hub: Hub;
  http: string;
  token: string;
  manifest: Manifest;
  /** The feature whose mean is shifted on north's devices, and one that is not. */
  shifted: string;
  steady: string;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** `predictions`: a device's predictions per window when not 200 (east's are 50, in its one window). */
export async function startDriftFleet(prefix: string, sites: Record<string, string> = DRIFT_SITES, predictions: Record<string, number> = {}): Promise<DriftFleet> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let hub: Hub | null = null;
  let sim: FleetSimulator | null = null;
  const stop = async () => {
    await sim?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keys = makeKeys(join(dir, 'keys'));
    const trust = makeTrust(dir, keys);
    const v1 = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
    const m = v1.manifest;
    const numeric = (m.features ?? []).filter((f) => f.kind === 'numeric').map((f) => f.name);
    const [shifted, steady] = [numeric[0] as string, numeric[1] as string];
    const dataDir = join(dir, 'hub');
    const devices: SimDevice[] = Object.keys(sites).map((id) => ({ id, secret: `s3cret-${id}-${'x'.repeat(24)}` }));
    const started = await taggedHub({ dataDir, trustPath: trust.path, hubKeyPath: keys.files.hub.keyPath, devices, tags: (id) => ({ site: sites[id] as string }) });
    hub = started.hub;
    const { addrs, token, api } = started;
    await api('POST', '/models', new Uint8Array(readFileSync(v1.path)));
    await api('POST', '/deployments', { model: m.name, version: m.version, target: { all: true }, reason: 'console drift view' });
    sim = new FleetSimulator({ url: addrs.mqtt, devices, model: { name: m.name, version: m.version } });
    const c = await sim.connectAll();
    assert.equal(c.failed.length, 0, JSON.stringify(c.failed));
    const rng = makeRng(2027);
    const rand = () => rng.next();
    const hour0 = Math.floor(Date.now() / 3600_000) * 3600_000 - HOURS * 3600_000;
    const s = sim;
    await Promise.all(devices.map(async (d) => {
      const few = sites[d.id] === 'east';
      const ws: SummaryWindow[] = [];
      for (let i = 0; i < (few ? 1 : HOURS * PER_HOUR); i++) {
        const w = sampleWindow(m, hour0 + (i * 3600_000) / PER_HOUR, 3600 / PER_HOUR, few ? 50 : predictions[d.id] ?? 200, sites[d.id] === 'north' ? { mean: shifted } : {}, rand);
        const labels = LABELS[sites[d.id] as string];
        ws.push(labels ? { ...w, feedback: labels, confidence: { n: w.count, sum: w.count * EXPECTED } } : w);
      }
      await s.publishWindows(d.id, ws);
    }));
    await waitFor('every window acked', () => s.pending() === 0, { timeoutMs: 30_000 });
    return { dir, hub, http: addrs.http, token, manifest: m, shifted, steady, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

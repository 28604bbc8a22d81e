// Shared setup of the fleet benches (deploy.bench.ts, ingest.bench.ts): a hub in-process (temp data
// dir, ports 0, trust and hub key from @edgefleet/examples makeFixture, logs off), N devices with
// their own random secrets hashed by the hub's store, and simulators connected with those real credentials.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, type Fixture } from '@edgefleet/examples';
import { HubConfig } from '../../hub/src/config.js';
import { Hub, type HubAddresses } from '../../hub/src/server/hub.js';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { randomSecret } from '../../hub/src/store/secrets.js';
import { noopLogger } from '../../hub/src/mqtt/ports.js';
import { FleetSimulator, type SimDevice, type SimModel } from '../src/sim/index.js';
import { adminApi } from '../src/sim/tagged-hub.js';

/** The hub's clock with an offset: see connectFleet (the per-address connect limit). */
export class OffsetClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

export interface BenchHub {
  dir: string;
  fx: Fixture;
  hub: Hub;
  addrs: HubAddresses;
  clock: OffsetClock;
  token: string;
  devices: SimDevice[];
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Starts a hub with `n` devices (`tagged` of them with {group: "a"}), models v1 and v2 pushed. */
export async function startBenchHub(n: number, opts: { tagged?: number; blobs?: HubConfig['blobs']; rollouts?: HubConfig['rollouts'] } = {}): Promise<BenchHub> {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-'));
  const fx = await makeFixture(join(dir, 'fixture'));
  const dataDir = join(dir, 'hub');
  const devices: SimDevice[] = Array.from({ length: n }, (_, i) => ({ id: `dev-${String(i).padStart(5, '0')}`, secret: randomSecret() }));
  const store = Store.open(dataDir, HUB_MIGRATIONS);
  // Created the way enrollment creates them (DevicesRepo.create: the hub's own hash, store/secrets.ts).
  const at = new Date();
  store.db.transaction(() => {
    devices.forEach((d, i) => store.devices.create(d.id, d.secret, i < (opts.tagged ?? 0) ? { group: 'a' } : { group: 'b' }, null, at));
  })();
  store.close();
  const cfg = HubConfig.parse({
    dataDir, httpPort: 0, mqttPort: 0, trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent',
    maxPayloadBytes: 256 * 1024, ...(opts.blobs ? { blobs: opts.blobs } : {}), ...(opts.rollouts ? { rollouts: opts.rollouts } : {}),
  });
  const clock = new OffsetClock();
  const hub = new Hub(cfg, noopLogger, clock);
  const addrs = await hub.start();
  const token = hub.newAdminToken;
  if (!token) throw new Error('hub did not create an admin token on first start');
  const api = adminApi(addrs.http, token);
  for (const p of [fx.v1, fx.v2]) await api('POST', '/models', new Uint8Array(readFileSync(p)));
  return {
    dir, fx, hub, addrs, clock, token, devices, api,
    async close() {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Connects every device in chunks (default 500), one simulator per chunk. The hub allows 600 connection
 * attempts a minute per address and every simulated device comes from 127.0.0.1, so between
 * chunks the hub's injected clock is moved on a minute (documents it signs then carry times up
 * to a few minutes ahead, well within their 14-day lifetime).
 */
export async function connectFleet(b: BenchHub, o: { resendMs?: number; chunks?: number[]; model?: SimModel } = {}): Promise<{ sims: FleetSimulator[]; ms: number }> {
  const sims: FleetSimulator[] = [];
  const t0 = performance.now();
  const chunks = o.chunks ?? Array.from({ length: Math.ceil(b.devices.length / 500) }, () => 500);
  if (chunks.some((c) => c > 500)) throw new Error(`connectFleet: chunks of at most 500 devices, got ${chunks.join(', ')}`);
  let since = 0;
  for (let i = 0, c = 0; i < b.devices.length; i += chunks[c] ?? 500, c++) {
    const size = chunks[c] ?? 500;
    if (since + size > 500) {
      b.clock.offsetMs += 61_000;
      since = 0;
    }
    since += size;
    const sim = new FleetSimulator({ url: b.addrs.mqtt, devices: b.devices.slice(i, i + size), connectConcurrency: 50, ...(o.resendMs ? { resendMs: o.resendMs } : {}), ...(o.model ? { model: o.model } : {}) });
    sims.push(sim);
    const r = await sim.connectAll();
    if (r.failed.length) throw new Error(`${r.failed.length} devices failed to connect, first: ${r.failed[0]?.id}: ${r.failed[0]?.error}`);
  }
  return { sims, ms: performance.now() - t0 };
}

export const sum = (sims: FleetSimulator[], f: (s: FleetSimulator) => number): number => sims.reduce((a, s) => a + f(s), 0);

export async function until(cond: () => boolean | Promise<boolean>, limitMs: number, pollMs = 20): Promise<boolean> {
  const start = performance.now();
  while (!(await cond())) {
    if (performance.now() - start > limitMs) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

export const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

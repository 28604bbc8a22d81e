// What an operator's API calls cost at fleet scale (docs/performance.md "Fleet scale probe"): N devices
// connected to a hub process as it ships (test/bench/hub-proc.ts) from simulators in two more
// (hub/bench/sims.ts), every device running v1 after a deployment to all. Reported: the hub's memory per
// connected device, POST /deployments to all (wall, and the hub's longest event-loop stall meanwhile: no
// request or MQTT packet is served during it), the longest stall while every device downloads, activates
// and reports (device events and state reports in bursts), the bytes and time of each list and view the
// console and the CLI read, and POST /rollouts to all.
// Run: ulimit -n 20000; node --conditions=source --import tsx test/bench/fleet-api.bench.ts [--devices 5000]
import { Sims } from '../../hub/bench/sims.js';
import { HubProc } from './hub-proc.js';
import { fmt, until } from './fleet-setup.js';

const i = process.argv.indexOf('--devices');
const N = i > 0 ? Number(process.argv[i + 1]) : 5000;
if (!Number.isSafeInteger(N) || N <= 0) throw new Error(`--devices: expected a positive whole number, got ${String(process.argv[i + 1])}`);
const MB = 1024 * 1024;

const hub = await HubProc.start(N);
const sims = await Sims.start(2);
/** Bytes and wall time of one GET as the admin. */
async function size(path: string): Promise<void> {
  const t = performance.now();
  const res = await fetch(`${hub.httpUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${hub.token}` } });
  const bytes = (await res.arrayBuffer()).byteLength;
  console.log(`  GET ${path}: ${res.status}, ${fmt(bytes / 1024, 1).trim()} KiB in ${fmt(performance.now() - t).trim()} ms`);
}
/** The hub's longest event-loop stall since the last reset, and a reset. */
async function stall(): Promise<string> {
  const s = await hub.stats();
  hub.resetLoopDelay();
  return `longest event-loop stall ${fmt(s.loopMaxMs).trim()} ms (${fmt(s.loopMaxCpuMs).trim()} ms of CPU)`;
}
try {
  const [v1, v2] = ['1.0.0', '2.0.0'].map((version) => ({ name: 'vibration-anomaly', version })) as [{ name: string; version: string }, { name: string; version: string }];
  const idle = await hub.stats();
  let t = performance.now();
  const conn = await sims.connect(hub.mqtt, hub.devices, 100, { model: v1, resendMs: 15_000 });
  const on = await hub.stats();
  console.log(`${fmt(conn.connected).trim()} of ${fmt(N).trim()} devices connected in ${fmt((performance.now() - t) / 1000, 1).trim()} s; ` +
    `per device ${fmt((on.rss - idle.rss) / N).trim()} B RSS, ${fmt((on.heap - idle.heap) / N).trim()} B heap (after a GC)`);
  await sims.follow({ trust: hub.fx.trust, blockSize: 16 * 1024, window: 16 });
  await stall();
  t = performance.now();
  const dep = await hub.api<{ id: number }>('POST', '/deployments', { model: v1.name, version: v1.version, target: { all: true }, reason: 'fleet-api bench' });
  console.log(`POST /deployments to all: ${fmt(performance.now() - t).trim()} ms, ${await stall()}`);
  const ok = await until(async () => (await sims.active(v1)).count >= N, 300_000, 500);
  console.log(`every device active: ${ok ? 'yes' : 'NO'}, ${fmt((performance.now() - t) / 1000, 1).trim()} s after the POST, ${await stall()} while they downloaded, activated and reported`);
  for (const p of ['/devices', '/config/devices', '/deployments', `/deployments/${dep.id}`, `/deployments/${dep.id}?devices=500`, '/audit', '/models', `/models/${v1.name}/versions/${v1.version}`]) await size(p);
  console.log(`  (${await stall()} over these reads)`);
  t = performance.now();
  const ro = await hub.api<{ id: string }>('POST', '/rollouts', {
    model: v2.name, version: v2.version, target: { all: true }, reason: 'fleet-api bench',
    waves: [{ name: 'canary', percent: 10, bakeSec: 3600 }, { name: 'rest', percent: 100, bakeSec: 0 }],
  });
  console.log(`POST /rollouts to all: ${fmt(performance.now() - t).trim()} ms, ${await stall()}`);
  for (const p of ['/rollouts', `/rollouts/${ro.id}`, `/rollouts/${ro.id}?devices=500`]) await size(p);
  const end = await hub.stats();
  console.log(`hub at the end: RSS ${fmt(end.rss / MB, 1).trim()} MB, heap ${fmt(end.heap / MB, 1).trim()} MB`);
} finally {
  sims.stop();
  await hub.stop();
}

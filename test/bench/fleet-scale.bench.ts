// Fleet at scale (issue 13 §4): 10,000 simulated devices on one hub process on this machine. The hub
// runs as it ships in a process of its own (hub-proc.ts), the devices in two more (hub/bench/sims.ts:
// 10,000 sockets on each end need `ulimit -n` above ~10,100). Phases, all against the same hub:
//  1. connect: every device connects with its real credentials (concurrency 100 per process);
//  2. steady telemetry: every device sends one batch of W windows (12 features × 10 bins) every P
//     seconds for S seconds, through its outbox (acked by the hub, resent after 15 s);
//  3. a deployment of v2 to all: devices follow their desired document (download the bundle over MQTT
//     blocks, verify, activate, report) until every device reports v2 active.
// Reported per phase: wall time, the hub's CPU seconds, its RSS and V8 heap after a full GC (per device:
// the growth over the idle hub before any device connected), CPU seconds per device-minute and windows
// persisted per second in the steady phase, and the load average (2 cores shared with other work).
// `--hubs N` (N ≥ 2): the same load over N hub processes in cluster mode behind one real Mosquitto, on one
// shared SQLite file (hub-cluster.ts; docs/hub.md "Several hubs"): memory and CPU are reported per hub,
// for Mosquitto (from /proc) and in total, windows stored are checked against windows sent (stored
// once each: the (device, seq) key), and each hub's share of the telemetry is read from its /metrics.
// Run: ulimit -n 20000; node --conditions=source --import tsx test/bench/fleet-scale.bench.ts
//      [--devices 10000] [--steady-s 90] [--period-s 30] [--windows 1] [--hubs 1]
import { loadavg } from 'node:os';
import type { Deployment } from '@edgefleet/shared';
import { Sims } from '../../hub/bench/sims.js';
import type { SimModel, WindowShape } from '../src/sim/index.js';
import { fmt, until } from './fleet-setup.js';
import { HubProc, type HubStats } from './hub-proc.js';
import { HubCluster, type ProcUsage } from './hub-cluster.js';

const opt = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i > 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: expected a positive number, got ${String(process.argv[i + 1])}`);
  return v;
};
const N = opt('--devices', 10_000);
const STEADY_S = opt('--steady-s', 90);
const PERIOD_S = opt('--period-s', 30);
const W = opt('--windows', 1);
const HUBS = opt('--hubs', 1);
const SIM_PROCS = 2;
const SHAPE: WindowShape = { features: 12, bins: 10 };
const LIMIT_MS = 180_000;
const MB = 1024 * 1024;

/** The hubs under test: one hub process with its embedded broker, or a cluster behind Mosquitto. */
interface Fleet { hubs: HubProc[]; mqtt: string; broker(): ProcUsage | null; brokerDrops(): string[] | null; stop(): Promise<void> }

async function startHubs(n: number, devices: number): Promise<Fleet> {
  if (n === 1) {
    const h = await HubProc.start(devices);
    return { hubs: [h], mqtt: h.mqtt, broker: () => null, brokerDrops: () => null, stop: () => h.stop() };
  }
  const c = await HubCluster.start(devices, n);
  return { hubs: c.hubs, mqtt: c.mqtt, broker: () => c.broker(), brokerDrops: () => c.brokerDrops(), stop: () => c.stop() };
}

/** Every hub's stats plus Mosquitto's usage (zeros with the embedded broker), and their sum. */
interface Sample { hubs: HubStats[]; broker: ProcUsage; total: { rss: number; heap: number; cpuMs: number } }
async function sample(f: Fleet): Promise<Sample> {
  const hubs = await Promise.all(f.hubs.map((h) => h.stats()));
  const broker = f.broker() ?? { cpuMs: 0, rss: 0 };
  const add = (k: 'rss' | 'heap' | 'cpuMs') => hubs.reduce((a, x) => a + x[k], 0);
  return { hubs, broker, total: { rss: add('rss') + broker.rss, heap: add('heap'), cpuMs: add('cpuMs') + broker.cpuMs } };
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
type Mem = { rss: number; heap: number };
const mem = (s: Mem) => `RSS ${fmt(s.rss / MB)} MB, heap ${fmt(s.heap / MB)} MB`;
const perDevice = (a: Mem, b: Mem) => `${fmt((b.rss - a.rss) / N / 1024, 1)} KB RSS, ${fmt((b.heap - a.heap) / N / 1024, 1)} KB heap per device`;
/** One hub: its memory and per-device growth; several: each hub's, Mosquitto's and the total. */
function memAll(a: Sample, b: Sample): string {
  if (b.hubs.length === 1) return `${mem(b.hubs[0]!)} = ${perDevice(a.hubs[0]!, b.hubs[0]!)}`;
  const each = b.hubs.map((h, i) => `hub-${i + 1} ${mem(h)} = ${perDevice(a.hubs[i]!, h)}`);
  const broker = `mosquitto RSS ${fmt(b.broker.rss / MB)} MB = ${fmt((b.broker.rss - a.broker.rss) / N / 1024, 1)} KB per device`;
  return `${each.join('; ')}; ${broker}; total ${mem(b.total)} = ${perDevice(a.total, b.total)}`;
}
/** CPU seconds between two samples: the total, and per hub and Mosquitto when there are several hubs. */
function cpuAll(a: Sample, b: Sample, per?: (ms: number) => string): string {
  const f = (ms: number) => `${fmt(ms / 1000, 1)} s${per ? ` = ${per(ms)}` : ''}`;
  if (b.hubs.length === 1) return `hub CPU ${f(b.total.cpuMs - a.total.cpuMs)}`;
  const each = b.hubs.map((h, i) => `hub-${i + 1} ${f(h.cpuMs - a.hubs[i]!.cpuMs)}`);
  return `CPU ${each.join(', ')}, mosquitto ${f(b.broker.cpuMs - a.broker.cpuMs)}, total ${f(b.total.cpuMs - a.total.cpuMs)}`;
}
/** Telemetry messages each hub received so far (its /metrics), to show the $share split. */
async function telemetryIn(f: Fleet): Promise<number[]> {
  return Promise.all(f.hubs.map(async (h) => Number(/^edgefleet_mqtt_messages_in_total\{kind="telemetry"\} (\d+)/m.exec(await h.metrics())?.[1] ?? 0)));
}

async function main(): Promise<void> {
  const fleet = await startHubs(HUBS, N);
  const hub = fleet.hubs[0]!; // the REST API answers on every hub; the first one holds the lease
  let sims: Sims | null = null;
  const failures: string[] = [];
  try {
    const v1: SimModel = { name: hub.fx.bundles.v1.manifest.name, version: hub.fx.bundles.v1.manifest.version };
    const v2: SimModel = { name: hub.fx.bundles.v2.manifest.name, version: hub.fx.bundles.v2.manifest.version };
    // Every device is assigned v1 first: the hub stores windows only about versions a device was told to run.
    await hub.api('POST', '/deployments', { model: v1.name, version: v1.version, target: { all: true }, reason: 'fleet-scale bench' });
    sims = await Sims.start(SIM_PROCS);
    const idle = await sample(fleet);
    const where = HUBS === 1 ? '1 hub process (embedded broker)' : `${HUBS} hub processes in cluster mode on one SQLite file behind one Mosquitto`;
    console.log(`fleet-scale bench: ${fmt(N)} devices on ${where} (devices in ${SIM_PROCS} processes); idle ${memAll(idle, idle)}; load ${load()}`);

    // 1. Connect.
    let t0 = performance.now();
    const conn = await sims.connect(fleet.mqtt, hub.devices, 100, { model: v1, resendMs: 15_000 });
    const connected = await sample(fleet);
    console.log(`connect: ${fmt(conn.connected)} of ${fmt(N)} in ${fmt((performance.now() - t0) / 1000, 1)} s, ${cpuAll(idle, connected)}; ${memAll(idle, connected)}; load ${load()}`);
    if (conn.failed.length) failures.push(`${conn.failed.length} devices failed to connect, first: ${conn.failed[0]?.id}: ${conn.failed[0]?.error}`);

    // 2. Steady telemetry.
    const w0 = hub.windowsStored();
    const p0 = await sims.pending();
    const t0In = await telemetryIn(fleet);
    t0 = performance.now();
    let sent = 0;
    let late = 0;
    for (let at = 0; at < STEADY_S; at += PERIOD_S) {
      const wait = t0 + at * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (at > 0) late++;
      sent += await sims.telemetry(W, SHAPE, 400);
    }
    const rest = t0 + STEADY_S * 1000 - performance.now(); // the phase lasts S seconds (CPU per device-minute over S)
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    const drained = await until(async () => (await sims?.pending())?.pending === 0, LIMIT_MS, 200);
    const steadyS = (performance.now() - t0) / 1000;
    const steady = await sample(fleet);
    const stored = hub.windowsStored() - w0;
    const p1 = await sims.pending();
    const shares = (await telemetryIn(fleet)).map((x, i) => x - (t0In[i] ?? 0));
    const cpuS = (steady.total.cpuMs - connected.total.cpuMs) / 1000;
    const deviceMin = (N * steadyS) / 60;
    const perDevMin = (ms: number) => `${fmt(ms / deviceMin, 2)} ms per device-minute`;
    const loopP99 = steady.hubs.map((h) => fmt(h.loopP99Ms)).join(', ');
    console.log(
      `steady: ${fmt(sent)} windows sent (${W} per device every ${PERIOD_S} s for ${STEADY_S} s${late ? `, ${late} rounds started late` : ''}), ${fmt(stored)} persisted and acked in ${fmt(steadyS, 1)} s = ${fmt(stored / steadyS)} windows/s (${fmt(p1.resends - p0.resends)} batches resent, ${fmt(p1.pending)} windows unacked` +
        `${HUBS > 1 ? `; telemetry messages per hub ${shares.map((x) => fmt(x)).join(' / ')}, mosquitto log lines on dropped messages ${fmt(fleet.brokerDrops()?.length ?? 0)}` : ''}); ${cpuAll(connected, steady, perDevMin)}, ${fmt((cpuS * 1e6) / Math.max(1, stored), 0)} µs per window in total; ${memAll(idle, steady)}; ` +
        `event loop p99 ${loopP99} ms; load ${load()}`,
    );
    const drops = fleet.brokerDrops() ?? [];
    if (drops.length) console.log(`mosquitto: ${drops.slice(0, 5).join(' | ')}`);
    if (!drained) failures.push(`${(await sims.pending()).pending} windows still unacked ${LIMIT_MS / 1000} s after the last round`);
    // Exactly once: rows are keyed by (device, seq), so as many rows as windows sent means none lost (and none twice).
    if (stored !== sent) failures.push(`${fmt(stored)} windows stored for ${fmt(sent)} sent`);
    else console.log(`exactly once: ${fmt(stored)} windows stored for ${fmt(sent)} sent`);

    // 3. A deployment to all.
    await sims.follow({ trust: hub.fx.trust, blockSize: 16 * 1024, window: 16 });
    t0 = performance.now();
    const dep = await hub.api<Deployment>('POST', '/deployments', { model: v2.name, version: v2.version, target: { all: true }, reason: 'fleet-scale bench' });
    const postMs = performance.now() - t0;
    let active = 0;
    const ok = await until(async () => (active = (await sims?.active(v2))?.count ?? 0) >= N, LIMIT_MS, 250);
    const depS = (performance.now() - t0) / 1000;
    const deployed = await sample(fleet);
    const status = await hub.api<Deployment>('GET', `/deployments/${dep.id}`);
    console.log(
      `deployment ${dep.id} (${fmt(hub.fx.bundles.v2.size)}-byte bundle over MQTT blocks): ${fmt(active)} of ${fmt(N)} devices active in ${fmt(depS, 1)} s (POST ${fmt(postMs)} ms; the hub counts ${fmt(status.counts['active'] ?? 0)} active), ` +
        `${cpuAll(steady, deployed)}; ${memAll(idle, deployed)}; load ${load()}`,
    );
    if (!ok) failures.push(`the deployment reached ${active} of ${N} devices within ${LIMIT_MS / 1000} s; follow failures: ${(await sims.active(v2)).failures.join('; ')}`);
    await sims.drop();
  } finally {
    sims?.stop();
    await fleet.stop();
  }
  if (failures.length) {
    console.error(`fleet-scale bench FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();

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
// `--hubs N` is the hook for the same load over several hub processes behind one external broker
// (cluster mode, issue 13 §4); until that mode exists it stops with an error saying so.
// Run: ulimit -n 20000; node --conditions=source --import tsx test/bench/fleet-scale.bench.ts
//      [--devices 10000] [--steady-s 90] [--period-s 30] [--windows 1] [--hubs 1]
import { loadavg } from 'node:os';
import type { Deployment } from '@edgefleet/shared';
import { Sims } from '../../hub/bench/sims.js';
import type { SimModel, WindowShape } from '../src/sim/index.js';
import { fmt, until } from './fleet-setup.js';
import { HubProc, type HubStats } from './hub-proc.js';

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

/**
 * The hubs under test. One: a hub process with its embedded broker. Several: cluster mode (hubs behind
 * one external broker sharing devices' traffic with $share subscriptions), not built yet.
 */
async function startHubs(n: number, devices: number): Promise<HubProc> {
  if (n !== 1) {
    throw new Error(`--hubs ${n} needs cluster mode (several hub processes behind one external MQTT broker with $share subscriptions, issue 13 §4), which this checkout does not have yet; run with --hubs 1`);
  }
  return HubProc.start(devices);
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const mem = (s: HubStats) => `RSS ${fmt(s.rss / MB)} MB, heap ${fmt(s.heap / MB)} MB`;
const perDevice = (a: HubStats, b: HubStats) => `${fmt((b.rss - a.rss) / N / 1024, 1)} KB RSS, ${fmt((b.heap - a.heap) / N / 1024, 1)} KB heap per device`;

async function main(): Promise<void> {
  const hub = await startHubs(HUBS, N);
  let sims: Sims | null = null;
  const failures: string[] = [];
  try {
    const v1: SimModel = { name: hub.fx.bundles.v1.manifest.name, version: hub.fx.bundles.v1.manifest.version };
    const v2: SimModel = { name: hub.fx.bundles.v2.manifest.name, version: hub.fx.bundles.v2.manifest.version };
    // Every device is assigned v1 first: the hub stores windows only about versions a device was told to run.
    await hub.api('POST', '/deployments', { model: v1.name, version: v1.version, target: { all: true }, reason: 'fleet-scale bench' });
    sims = await Sims.start(SIM_PROCS);
    const idle = await hub.stats();
    console.log(`fleet-scale bench: ${fmt(N)} devices on ${HUBS} hub process (devices in ${SIM_PROCS} processes); idle hub ${mem(idle)}; load ${load()}`);

    // 1. Connect.
    let t0 = performance.now();
    const conn = await sims.connect(hub.mqtt, hub.devices, 100, { model: v1, resendMs: 15_000 });
    const connected = await hub.stats();
    console.log(`connect: ${fmt(conn.connected)} of ${fmt(N)} in ${fmt((performance.now() - t0) / 1000, 1)} s, hub CPU ${fmt((connected.cpuMs - idle.cpuMs) / 1000, 1)} s; ${mem(connected)} = ${perDevice(idle, connected)}; load ${load()}`);
    if (conn.failed.length) failures.push(`${conn.failed.length} devices failed to connect, first: ${conn.failed[0]?.id}: ${conn.failed[0]?.error}`);

    // 2. Steady telemetry.
    const w0 = hub.windowsStored();
    const p0 = await sims.pending();
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
    const steady = await hub.stats();
    const stored = hub.windowsStored() - w0;
    const p1 = await sims.pending();
    const cpuS = (steady.cpuMs - connected.cpuMs) / 1000;
    const deviceMin = (N * steadyS) / 60;
    console.log(
      `steady: ${fmt(sent)} windows sent (${W} per device every ${PERIOD_S} s for ${STEADY_S} s${late ? `, ${late} rounds started late` : ''}), ${fmt(stored)} persisted and acked in ${fmt(steadyS, 1)} s = ${fmt(stored / steadyS)} windows/s (${fmt(p1.resends - p0.resends)} batches resent, ${fmt(p1.pending)} windows unacked); ` +
        `hub CPU ${fmt(cpuS, 1)} s = ${fmt((cpuS * 1000) / deviceMin, 2)} ms per device-minute, ${fmt((cpuS * 1e6) / Math.max(1, stored), 0)} µs per window; ${mem(steady)} = ${perDevice(idle, steady)}; ` +
        `event loop p99 ${fmt(steady.loopP99Ms)} ms; load ${load()}`,
    );
    if (!drained) failures.push(`${(await sims.pending()).pending} windows still unacked ${LIMIT_MS / 1000} s after the last round`);
    if (stored !== sent) failures.push(`${fmt(stored)} windows stored for ${fmt(sent)} sent`);

    // 3. A deployment to all.
    await sims.follow({ trust: hub.fx.trust, blockSize: 16 * 1024, window: 16 });
    t0 = performance.now();
    const dep = await hub.api<Deployment>('POST', '/deployments', { model: v2.name, version: v2.version, target: { all: true }, reason: 'fleet-scale bench' });
    const postMs = performance.now() - t0;
    let active = 0;
    const ok = await until(async () => (active = (await sims?.active(v2))?.count ?? 0) >= N, LIMIT_MS, 250);
    const depS = (performance.now() - t0) / 1000;
    const deployed = await hub.stats();
    const status = await hub.api<Deployment>('GET', `/deployments/${dep.id}`);
    console.log(
      `deployment ${dep.id} (${fmt(hub.fx.bundles.v2.size)}-byte bundle over MQTT blocks): ${fmt(active)} of ${fmt(N)} devices active in ${fmt(depS, 1)} s (POST ${fmt(postMs)} ms; the hub counts ${fmt(status.counts['active'] ?? 0)} active), ` +
        `hub CPU ${fmt((deployed.cpuMs - steady.cpuMs) / 1000, 1)} s; ${mem(deployed)}; load ${load()}`,
    );
    if (!ok) failures.push(`the deployment reached ${active} of ${N} devices within ${LIMIT_MS / 1000} s; follow failures: ${(await sims.active(v2)).failures.join('; ')}`);
    await sims.drop();
  } finally {
    sims?.stop();
    await hub.stop();
  }
  if (failures.length) {
    console.error(`fleet-scale bench FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();

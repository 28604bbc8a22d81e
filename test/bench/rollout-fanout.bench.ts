// Rollout fan-out bench (issue 10): a one-wave rollout to 10,000 simulated devices (connected with their
// real credentials to an in-process hub; the devices live in two processes of their own,
// hub/bench/sims.ts, since 10,000 sockets on both ends need more file descriptors than one process
// may hold here) at a rate cap of 12,000 desired documents a minute (below what the hub delivers
// uncapped, so the cap sets the pace), stepped
// every 500 ms (±20 % jitter). Measured: from POST /api/v1/rollouts to the last device holding its
// desired document, against the cap's expected time (devices less the first step's budget, divided by
// the rate; target within ±10 %). Baseline in the same run: a plain deployment of the same version to the
// same devices (no cap), which shows what the hub and broker alone take. CPU of the hub's process
// (this one) and of the simulators is printed next to wall time: the machine is shared.
// Run: node --conditions=source --import tsx test/bench/rollout-fanout.bench.ts [--devices N] [--per-minute R]
import type { Rollout } from '@edgefleet/shared';
import { Sims } from '../../hub/bench/sims.js';
import { fmt, startBenchHub, until } from './fleet-setup.js';

const opt = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = opt('--devices', 10_000);
/** Processes the simulated devices are spread over. */
const SIM_PROCS = 2;
const PER_MINUTE = opt('--per-minute', 12_000);
const TICK_MS = 500;
const JITTER = 0.2;
const LIMIT_MS = 180_000;

async function main(): Promise<void> {
  const b = await startBenchHub(N, { blobs: { maxTransfers: 0 }, rollouts: { tickMs: TICK_MS, desiredPerMinute: PER_MINUTE, jitter: JITTER } });
  const failures: string[] = [];
  let sims: Sims | null = null;
  try {
    const procs = await Sims.start(SIM_PROCS);
    sims = procs;
    // In chunks of 500 with the hub's clock a minute on between them: the hub allows 600 connection
    // attempts a minute per address, and every simulated device comes from 127.0.0.1 (as connectFleet does).
    const t = performance.now();
    for (let i = 0; i < N; i += 500) {
      if (i > 0) b.clock.offsetMs += 61_000;
      const r = await procs.connect(b.addrs.mqtt, b.devices.slice(i, i + 500), 50);
      if (r.failed.length) throw new Error(`${r.failed.length} devices failed to connect, first: ${r.failed[0]?.id}: ${r.failed[0]?.error}`);
    }
    console.log(`${fmt(N)} simulated devices connected in ${fmt((performance.now() - t) / 1000, 1)} s (in ${SIM_PROCS} processes)`);
    const model = b.fx.bundles.v1.manifest.name;
    const received = () => procs.desired();
    const told = async (before: number) => (await received()) - before >= N;
    const cpu = () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    };

    // Baseline: a deployment to all (no cap).
    let before = await received();
    let t0 = performance.now();
    await b.api('POST', '/deployments', { model, version: '1.0.0', target: { all: true }, reason: 'bench baseline' });
    if (!(await until(() => told(before), LIMIT_MS, 100))) failures.push('the baseline deployment did not reach every device');
    const baseMs = performance.now() - t0;

    // The rollout at the cap.
    before = await received();
    const burst = (PER_MINUTE * TICK_MS * (1 + JITTER)) / 60_000;
    const expectedMs = ((N - burst) / PER_MINUTE) * 60_000;
    t0 = performance.now();
    const [hubCpu0, simCpu0] = [cpu(), await procs.cpuMs()];
    const r = await b.api<Rollout>('POST', '/rollouts', { model, version: '2.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 3600 }], reason: 'bench fan-out' });
    const firstStep = (await received()) - before;
    const ok = await until(() => told(before), LIMIT_MS, 100);
    const ms = performance.now() - t0;
    const [hubCpu, simCpu] = [cpu() - hubCpu0, (await procs.cpuMs()) - simCpu0];
    if (!ok) failures.push(`the rollout reached ${(await received()) - before} of ${N} devices within ${LIMIT_MS / 1000} s`);
    const ratio = ms / expectedMs;
    console.log(`rollout ${r.id}: ${fmt(N)} devices told in ${fmt(ms / 1000, 2)} s at ${fmt(PER_MINUTE)}/min (first step ${fmt(firstStep)}); `
      + `expected ${fmt(expectedMs / 1000, 2)} s -> ${ratio.toFixed(2)}x (target 0.90-1.10x); CPU meanwhile: hub process ${fmt(hubCpu / 1000, 1)} s, simulators ${fmt(simCpu / 1000, 1)} s`);
    console.log(`baseline: a deployment to the same ${fmt(N)} devices, no cap: ${fmt(baseMs / 1000, 2)} s (the cap's time is ${(ms / baseMs).toFixed(1)}x that)`);
    if (ratio < 0.9 || ratio > 1.1) failures.push(`fan-out took ${ratio.toFixed(2)}x the cap's expected time`);
    await procs.drop();
  } finally {
    sims?.stop();
    await b.close();
  }
  if (failures.length) {
    console.error(`FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();

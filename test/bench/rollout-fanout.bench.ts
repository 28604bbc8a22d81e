// Rollout fan-out bench (issue 10): a one-wave rollout to 5,000 simulated devices (connected with their
// real credentials to an in-process hub; 10,000 need 20,000 file descriptors in this one process, the
// hard limit here) at a rate cap of 12,000 desired documents a minute (below what the hub delivers
// uncapped, so the cap sets the pace), stepped
// every 500 ms (±20 % jitter). Measured: from POST /api/v1/rollouts to the last device holding its
// desired document, against the cap's expected time (devices less the first step's budget, divided by
// the rate; target within ±10 %). Baseline in the same run: a plain deployment of the same version to the
// same devices (no cap), which shows what the hub and broker alone take.
// Run: node --conditions=source --import tsx test/bench/rollout-fanout.bench.ts [--devices N] [--per-minute R]
import type { Rollout } from '@edgefleet/shared';
import { connectFleet, fmt, startBenchHub, sum, until } from './fleet-setup.js';

const opt = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = opt('--devices', 5_000);
const PER_MINUTE = opt('--per-minute', 12_000);
const TICK_MS = 500;
const JITTER = 0.2;
const LIMIT_MS = 180_000;

async function main(): Promise<void> {
  const b = await startBenchHub(N, { blobs: { maxTransfers: 0 }, rollouts: { tickMs: TICK_MS, desiredPerMinute: PER_MINUTE, jitter: JITTER } });
  const failures: string[] = [];
  try {
    const { sims, ms: connMs } = await connectFleet(b);
    console.log(`${fmt(N)} simulated devices connected in ${fmt(connMs / 1000, 1)} s`);
    const model = b.fx.bundles.v1.manifest.name;
    const received = () => sum(sims, (s) => b.devices.reduce((a, d) => a + s.desiredFor(d.id).length, 0));

    // Baseline: a deployment to all (no cap).
    let before = received();
    let t0 = performance.now();
    await b.api('POST', '/deployments', { model, version: '1.0.0', target: { all: true }, reason: 'bench baseline' });
    if (!(await until(() => received() - before >= N, LIMIT_MS))) failures.push('the baseline deployment did not reach every device');
    const baseMs = performance.now() - t0;

    // The rollout at the cap.
    before = received();
    const burst = (PER_MINUTE * TICK_MS * (1 + JITTER)) / 60_000;
    const expectedMs = ((N - burst) / PER_MINUTE) * 60_000;
    t0 = performance.now();
    const r = await b.api<Rollout>('POST', '/rollouts', { model, version: '2.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100, bakeSec: 3600 }], reason: 'bench fan-out' });
    const firstStep = received() - before;
    const ok = await until(() => received() - before >= N, LIMIT_MS);
    const ms = performance.now() - t0;
    if (!ok) failures.push(`the rollout reached ${received() - before} of ${N} devices within ${LIMIT_MS / 1000} s`);
    const ratio = ms / expectedMs;
    console.log(`rollout ${r.id}: ${fmt(N)} devices told in ${fmt(ms / 1000, 2)} s at ${fmt(PER_MINUTE)}/min (first step ${fmt(firstStep)}); `
      + `expected ${fmt(expectedMs / 1000, 2)} s -> ${ratio.toFixed(2)}x (target 0.90-1.10x)`);
    console.log(`baseline: a deployment to the same ${fmt(N)} devices, no cap: ${fmt(baseMs / 1000, 2)} s (the cap's time is ${(ms / baseMs).toFixed(1)}x that)`);
    if (ratio < 0.9 || ratio > 1.1) failures.push(`fan-out took ${ratio.toFixed(2)}x the cap's expected time`);
    await Promise.all(sims.map((s) => s.stop()));
  } finally {
    await b.close();
  }
  if (failures.length) {
    console.error(`FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();

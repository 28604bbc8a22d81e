// Deployment bench (issue 5): time from POST /api/v1/deployments to every targeted device reported
// active (polling GET /api/v1/deployments/:id), for 100 and 1,000 simulated devices that follow
// their desired documents for real: download_started, the bundle fetched in blob/get windows from
// the hub's BlobServer (sha256 checked), activated, retained state. Baseline in the same run: the
// same N devices just receiving a new desired document (a second deployment of the version they
// already run: hub signs, stores, publishes; no downloads). One hub in-process, all devices
// connected once; 100 of them carry the tag group=a that the first deployment targets.
// Run: node --conditions=source --import tsx test/bench/deploy.bench.ts [--no-fetch]
import type { Deployment } from '@edgefleet/shared';
import { connectFleet, fmt, startBenchHub, sum, until, type BenchHub } from './fleet-setup.js';
import type { FleetSimulator } from '../src/sim/index.js';

const LIMIT_MS = 90_000;
const fetchBlocks = !process.argv.includes('--no-fetch');

async function deployAndWait(b: BenchHub, sims: FleetSimulator[], version: string, target: object, n: number) {
  const model = b.fx.bundles.v1.manifest.name;
  const received = () => sum(sims, (s) => b.devices.reduce((a, d) => a + s.desiredFor(d.id).length, 0));
  const desiredBefore = received();
  const t0 = performance.now();
  const dep = await b.api<Deployment>('POST', '/deployments', { model, version, target, reason: `bench ${n}` });
  const postMs = performance.now() - t0;
  if (dep.devices.length !== n) throw new Error(`deployment reached ${dep.devices.length} devices, expected ${n}`);
  let deliveredMs = NaN;
  let last: Deployment = dep;
  const ok = await until(async () => {
    if (Number.isNaN(deliveredMs) && received() - desiredBefore >= n) deliveredMs = performance.now() - t0;
    last = await b.api<Deployment>('GET', `/deployments/${dep.id}`);
    return (last.counts['active'] ?? 0) === n;
  }, LIMIT_MS, 50);
  const ms = performance.now() - t0;
  return { ok, ms, postMs, deliveredMs, counts: last.counts };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const b = await startBenchHub(1000, { tagged: 100, blobs: { maxTransfers: 0 } });
  const failures: string[] = [];
  try {
    const { sims, ms: connMs } = await connectFleet(b);
    const blockSize = 4096;
    for (const s of sims) s.follow({ trust: b.fx.trust, fetchBlocks, blockSize, window: 8 });
    const size = b.fx.bundles.v2.size;
    console.log(`deploy bench: hub in-process, 1,000 simulated devices connected in ${fmt(connMs / 1000, 1)} s (setup ${fmt((performance.now() - t0) / 1000, 1)} s)`);
    console.log(`devices ${fetchBlocks ? `download the bundle (${fmt(size)} bytes, ${blockSize}-byte blocks, 8 per window, sha256 checked)` : 'do NOT download blocks (--no-fetch)'}; hub blob transfer cap off (maxTransfers 0)`);
    console.log('     N | deploy → all active (API) | devices/s | POST ms | baseline: desired delivered | devices/s | ratio');
    const runs: Array<{ n: number; version: string; target: object }> = [
      { n: 100, version: '1.0.0', target: { tags: { group: 'a' } } },
      { n: 1000, version: '2.0.0', target: { all: true } },
    ];
    for (const r of runs) {
      const bytesBefore = sum(sims, (s) => s.followStats().bytesFetched);
      const main = await deployAndWait(b, sims, r.version, r.target, r.n);
      const bytes = sum(sims, (s) => s.followStats().bytesFetched) - bytesBefore;
      if (!main.ok) failures.push(`N=${r.n}: not all active within ${LIMIT_MS / 1000} s: ${JSON.stringify(main.counts)}`);
      // Baseline: the same version again; devices already run it, so only the document travels.
      const base = await deployAndWait(b, sims, r.version, r.target, r.n);
      const rate = r.n / (main.ms / 1000);
      const baseRate = r.n / (base.deliveredMs / 1000);
      console.log(
        `${fmt(r.n).padStart(6)} | ${`${fmt(main.ms / 1000, 2)} s`.padStart(25)} | ${fmt(rate).padStart(9)} | ${fmt(main.postMs).padStart(7)} | ` +
          `${`${fmt(base.deliveredMs / 1000, 2)} s`.padStart(27)} | ${fmt(baseRate).padStart(9)} | ${(rate / baseRate).toFixed(2).padStart(5)}`,
      );
      console.log(`       (${fmt(bytes)} bytes fetched over MQTT blocks; devices saw the new document after ${fmt(main.deliveredMs / 1000, 2)} s; status polled every 50 ms)`);
    }
    const stats = sims.flatMap((s) => s.followStats().failures);
    if (stats.length) failures.push(`${stats.length} device failures, first: ${stats[0]?.id}: ${stats[0]?.error}`);
    await Promise.all(sims.map((s) => s.stop()));
  } finally {
    await b.close();
  }
  if (failures.length) {
    console.error(`deploy bench FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();

// Ingest bench (issue 5): summary windows from simulated devices persisted and acked by the hub,
// for 100 and 1,000 devices. Each telemetry batch carries k = 10 windows shaped like the agent's
// example model (12 numeric features × 10 bins, latency histogram, one output); devices send R
// rounds (each round: every device one batch, all PUBACKed) and keep unacked windows in an outbox
// that is resent after 2 s, so duplicates do reach the hub under load. windows/s counts from the
// first publish to the last window acked. Baseline in the same run: the hub's own TelemetryRepo
// (INSERT OR IGNORE, one transaction per batch, same rows, same SQLite settings) in this process
// without MQTT. Exactly-once: device_windows rows afterwards must equal the windows sent.
// Run: node --conditions=source --import tsx test/bench/ingest.bench.ts [--feedback]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { TelemetryRepo } from '../../hub/src/store/telemetry-repo.js';
import { simWindow, type FleetSimulator, type WindowShape } from '../src/sim/index.js';
import { connectFleet, fmt, startBenchHub, sum, until } from './fleet-setup.js';

const K = 10;
/** --feedback: windows also carry label and confidence counts (docs/drift.md "Accuracy"), to compare with a run without. */
const SHAPE: WindowShape = { features: 12, bins: 10, ...(process.argv.includes('--feedback') ? { feedback: true } : {}) };
const LIMIT_MS = 90_000;
/**
 * Batches awaiting their PUBACK at once over the fleet. With every device publishing at once
 * (--burst), the hub's embedded broker overflowed the stack at 1,000 devices (ingress callback
 * called synchronously inside mqemitter's queue: hub/src/mqtt/embedded.ts subscribeIngress).
 */
const IN_FLIGHT = 100;
const burst = process.argv.includes('--burst');

/** Windows/s of the hub's repository alone: the same batches, no MQTT, no validation. */
function baseline(devices: number, rounds: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-ingest-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    const repo = new TelemetryRepo(store.db);
    const at = new Date();
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let d = 0; d < devices; d++) {
        const windows = Array.from({ length: K }, (_, i) => simWindow(r * K + i + 1, at, SHAPE));
        repo.putWindows(`dev-${d}`, windows, at);
      }
    }
    return (devices * rounds * K) / ((performance.now() - t0) / 1000);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(sims: FleetSimulator[], rounds: number, inFlight: number) {
  const acks0 = sum(sims, (s) => s.acksReceived);
  const resends0 = sum(sims, (s) => s.resends);
  const t0 = performance.now();
  let sent = 0;
  for (let r = 0; r < rounds; r++) {
    const counts = await Promise.all(sims.map((s) => s.publishTelemetry(K, SHAPE, Math.ceil(inFlight / sims.length))));
    sent += counts.reduce((a, x) => a + x, 0);
  }
  const ok = await until(() => sum(sims, (s) => s.pending()) === 0, LIMIT_MS);
  const ms = performance.now() - t0;
  return { ok, ms, sent, acks: sum(sims, (s) => s.acksReceived) - acks0, resends: sum(sims, (s) => s.resends) - resends0, pending: sum(sims, (s) => s.pending()) };
}

async function main(): Promise<void> {
  const b = await startBenchHub(1000);
  const failures: string[] = [];
  try {
    // Windows are about a version the hub assigned to every device: it stores nothing else (plausibility.ts).
    const model = { name: 'vibration-anomaly', version: '1.0.0' };
    await b.api('POST', '/deployments', { model: model.name, version: model.version, target: { all: true }, reason: 'ingest bench' });
    const { sims, ms: connMs } = await connectFleet(b, { resendMs: 2_000, chunks: [100, 400, 500], model });
    const bytes = JSON.stringify(simWindow(1, new Date(), SHAPE)).length;
    console.log(`ingest bench: hub in-process, 1,000 simulated devices connected in ${fmt(connMs / 1000, 1)} s; batches of ${K} windows (${SHAPE.features} features × ${SHAPE.bins} bins, ~${fmt(bytes)} bytes each)`);
    console.log(`devices publish ${burst ? 'all at once (--burst)' : `with at most ${IN_FLIGHT} batches in flight over the fleet`}`);
    console.log('     N | rounds | windows | hub persisted+acked | windows/s | acks | resends | baseline repo windows/s | ratio');
    let total = 0;
    const runs: Array<{ n: number; group: FleetSimulator[]; rounds: number }> = [{ n: 100, group: sims.slice(0, 1), rounds: 20 }, { n: 1000, group: sims, rounds: 4 }];
    for (const { n, group, rounds } of runs) {
      const r = await run(group, rounds, burst ? Infinity : IN_FLIGHT);
      total += r.sent;
      if (!r.ok) failures.push(`N=${n}: ${r.pending} windows still unacked after ${LIMIT_MS / 1000} s`);
      const rate = r.sent / (r.ms / 1000);
      const base = baseline(n, rounds);
      console.log(
        `${fmt(n).padStart(6)} | ${String(rounds).padStart(6)} | ${fmt(r.sent).padStart(7)} | ${`${fmt(r.ms / 1000, 2)} s`.padStart(19)} | ${fmt(rate).padStart(9)} | ` +
          `${fmt(r.acks).padStart(4)} | ${fmt(r.resends).padStart(7)} | ${fmt(base).padStart(23)} | ${(rate / base).toFixed(2).padStart(5)}`,
      );
    }
    const ingest = b.hub.ingest;
    if (!ingest) throw new Error('hub has no ingest part');
    const stored = b.devices.reduce((a, d) => a + ingest.telemetry.countFor(d.id).windows, 0);
    console.log(`exactly once: ${fmt(stored)} windows stored for ${fmt(total)} sent (resends included above) — ${stored === total ? 'ok' : 'MISMATCH'}`);
    if (stored !== total) failures.push(`hub stored ${stored} windows, devices sent ${total}`);
    // Honest devices must stay inside the default per-device MQTT quotas (hub/src/mqtt/quota.ts).
    const quota = b.hub.metrics.render().split('\n').filter((l) => l.startsWith('edgefleet_mqtt_quota_exceeded_total{'));
    console.log(`MQTT quotas (defaults): ${quota.length ? quota.join(', ') : 'no device throttled or disconnected'}`);
    if (quota.some((l) => l.includes('action="disconnect"'))) failures.push('an honest simulated device was disconnected by the default MQTT quotas');
    await Promise.all(sims.map((s) => s.stop()));
  } finally {
    await b.close();
  }
  if (failures.length) {
    console.error(`ingest bench FAILED:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();

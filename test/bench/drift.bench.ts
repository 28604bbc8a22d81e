// Rollups and drift bench (issue 11): a real hub.db in a temp dir, a model version with 16 numeric
// features × 10 bins and one output.
//  1. Ingest with rollups vs without, same run: the hub's TelemetryRepo storing batches of 10 windows
//     per device (as the ingest bench sends them), with and without the rollups update in the same
//     transaction; the difference per window is the rollup update cost (target < 50 us). The ratio here is
//     the repository's alone: issue 11's >= 0.9x is the whole ingest path's (ingest.bench.ts --pairs N, decision 0053).
//  2. Drift for 10,000 devices × 16 features × 24 hourly rollups (target < 1 s): FleetAnalytics.drift
//     over 24 whole hours not aligned to a day (every hourly row read), per device (worst devices) and
//     for the fleet; then the same range aligned to a day (daily rollups), and with the PSI timeline.
//  Baseline for 2, same run: merging the raw windows (JSON.parse + windowTotals) of 200 devices × 24.
// Run: node --conditions=source --import tsx test/bench/drift.bench.ts [--part 1|2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowTotals, type Feature, type Reference, type SeqWindow, type SummaryWindow } from '@edgefleet/shared';
import { Store } from '../../hub/src/store/index.js';
import { HUB_MIGRATIONS } from '../../hub/src/schema.js';
import { TelemetryRepo } from '../../hub/src/store/telemetry-repo.js';
import { FleetAnalytics } from '../../hub/src/drift/service.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../../hub/src/rollups/testing.js';
import { fmt } from './fleet-setup.js';

const FEATURES: Feature[] = Array.from({ length: 16 }, (_, i) => ({ name: `f${i}`, index: i, kind: 'numeric' }));
const REFERENCE: Reference = {
  id: 'b'.repeat(64), rows: 1000,
  features: FEATURES.map((f) => numericReference(f.name)),
  outputs: [{ name: 'score', index: 0, edges: [0, 0.2, 0.4, 0.6, 0.8, 1], counts: [200, 200, 200, 200, 200], under: 0, over: 0 }],
};
const DEVICES = 10_000;
const HOURS = 24;
const DAY = 86_400_000;
const failures: string[] = [];

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-drift-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  registerVersion(store.db, 'bench', '1.0.0', { features: FEATURES, reference: REFERENCE });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** A few distinct windows (sampling is not what is measured), reused with fresh seqs. */
function templates(n: number, start: number): SummaryWindow[] {
  const rand = seeded(1);
  const spec = { numeric: Object.fromEntries(FEATURES.map((f) => [f.name, normal(rand, 5, 1.5)])), outputs: { score: rand }, errors: { INFERENCE_FAILED: 0.01 } };
  return Array.from({ length: n }, () => sampleWindow({ model: 'bench', version: '1.0.0', start, lengthSec: 60 }, FEATURES, REFERENCE, 60, spec, rand));
}

/** Wall and CPU ms per window. */
function ingest(withRollups: boolean, devices: number, rounds: number, t0: number): { wall: number; cpu: number } {
  const h = open();
  try {
    const repo = new TelemetryRepo(h.store.db, withRollups ? h.store.rollups : null, h.store.stored);
    const ws = templates(10, t0);
    const at = new Date(t0);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let d = 0; d < devices; d++) {
        const batch: SeqWindow[] = ws.map((w, i) => ({ ...w, seq: r * 10 + i + 1 }));
        repo.putWindows(`dev-${d}`, batch, at);
      }
    }
    const n = devices * rounds * 10;
    const cpu = process.cpuUsage(cpu0);
    return { wall: (performance.now() - start) / n, cpu: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    h.close();
  }
}

function benchIngest(): void {
  const t0 = Date.parse('2026-11-30T10:00:00Z');
  ingest(true, 50, 2, t0); // warm-up (prepared statements, JIT)
  const runs: Array<[{ wall: number; cpu: number }, { wall: number; cpu: number }]> = [];
  for (let i = 0; i < 3; i++) runs.push([ingest(false, 500, 4, t0), ingest(true, 500, 4, t0)]);
  // Best of three, by wall time and by this process's CPU time (the steadier one on a loaded machine).
  for (const by of ['wall', 'cpu'] as const) {
    const without = Math.min(...runs.map((r) => r[0][by]));
    const withR = Math.min(...runs.map((r) => r[1][by]));
    const perWindowUs = (withR - without) * 1000;
    const ratio = without / withR;
    console.log(`ingest by ${by} time (store, batches of 10 windows of 16 features): without rollups ${fmt(1000 / without)} windows/s, with ${fmt(1000 / withR)} windows/s = ${fmt(ratio, 2)}x (the repository alone; the >= 0.9x target is the whole ingest path's, ingest.bench.ts --pairs N); rollup update per window ${fmt(perWindowUs, 1)} us (target < 50 us)`);
    if (by === 'cpu' && perWindowUs >= 50) failures.push(`rollup update per window ${fmt(perWindowUs, 1)} us of CPU, target < 50 us`);
  }
}

function benchDrift(): void {
  const h = open();
  try {
    // 24 hours starting at 01:00, so a 24-hour query reads only hourly rollups (the worst case).
    const day0 = Date.parse('2026-11-29T00:00:00Z');
    const since = day0 + 3600_000;
    const ws = templates(8, since);
    const t = performance.now();
    for (let d = 0; d < DEVICES; d += 100) {
      h.store.db.transaction(() => {
        for (let k = d; k < d + 100; k++) {
          h.store.rollups.applyWindows(`dev-${k}`, Array.from({ length: HOURS }, (_, i) => ({ ...(ws[(k + i) % ws.length] as SummaryWindow), start: new Date(since + i * 3600_000).toISOString() })));
        }
      })();
    }
    const buildS = (performance.now() - t) / 1000;
    const rows = (h.store.db.prepare('SELECT COUNT(*) AS n, SUM(length(dist)) AS bytes FROM rollups WHERE grain = 3600').get() as { n: number; bytes: number });
    console.log(`drift: ${fmt(DEVICES)} devices × ${FEATURES.length} features × ${HOURS} hourly rollups (${fmt(rows.n)} rows, ${fmt(rows.bytes / rows.n)} bytes of counts each) built in ${fmt(buildS, 1)} s`);
    const a = new FleetAnalytics(h.store.db, h.store.rollups);
    const now = new Date(since + HOURS * 3600_000);
    const q = { since: new Date(since).toISOString(), until: now.toISOString(), timeline: false };
    // Wall time and this process's CPU time: on a shared, loaded machine the CPU time is the steadier figure.
    const time = (f: () => unknown) => {
      const c = process.cpuUsage();
      const s = performance.now();
      f();
      const cpu = process.cpuUsage(c);
      return { wall: performance.now() - s, cpu: (cpu.user + cpu.system) / 1000 };
    };
    const show = (t: { wall: number; cpu: number }) => `${fmt(t.wall)} ms (CPU ${fmt(t.cpu)} ms)`;
    const first = time(() => a.drift('bench', '1.0.0', q, now)); // also the warm-up; writes the fleet rows
    console.log(`drift, first query after ingest (sums and stores the fleet rows): ${show(first)}`);
    const runs = [time(() => a.drift('bench', '1.0.0', q, now)), time(() => a.drift('bench', '1.0.0', q, now))];
    const best = { wall: Math.min(...runs.map((r) => r.wall)), cpu: Math.min(...runs.map((r) => r.cpu)) };
    const hourly = best.wall;
    console.log(`drift over 24 hourly rollups per device (fleet group + worst devices): ${show(best)} (target < 1,000 ms = ${fmt(1000 / hourly, 2)}x headroom; CPU ${fmt(1000 / best.cpu, 2)}x)`);
    if (best.cpu >= 1000) failures.push(`drift over ${fmt(DEVICES)} devices × 24 hourly rollups took ${fmt(best.cpu)} ms of CPU, target < 1 s`);
    // Best of 5: a single run of ~150 ms swings by half on the shared machine.
    const verdicts = Array.from({ length: 5 }, () => time(() => a.drift('bench', '1.0.0', { ...q, worst: false }, now)));
    const verdict = { wall: Math.min(...verdicts.map((r) => r.wall)), cpu: Math.min(...verdicts.map((r) => r.cpu)) };
    console.log(`  the fleet verdict without worst devices (the fleet rows and each device's predictions and output values, as an alert on drift.psi reads them; best of 5): ${show(verdict)}`);
    const wq = { ...q, worst: false };
    const withTimeline = time(() => a.drift('bench', '1.0.0', { ...wq, timeline: true }, now));
    console.log(`  the same with the per-hour PSI timeline: ${show(withTimeline)}`);
    console.log(`  by device (10,000 groups with every feature's PSI/JS/KS): ${show(time(() => a.drift('bench', '1.0.0', { ...q, by: 'device' }, now)))}`);
    console.log(`  with the per-hour PSI timeline: ${show(time(() => a.drift('bench', '1.0.0', { ...q, timeline: true }, now)))}`);
    const latest = new Date(since + (HOURS - 1) * 3600_000).toISOString();
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-0', [{ ...(ws[0] as SummaryWindow), start: latest }]))();
    console.log(`  after one more window in the last hour (its fleet row summed again): ${show(time(() => a.drift('bench', '1.0.0', q, now)))}`);
    const dayQ = { since: new Date(day0 + DAY).toISOString(), until: new Date(day0 + 2 * DAY).toISOString(), timeline: false };
    console.log(`  a whole UTC day (daily rollups where they cover it): ${show(time(() => a.drift('bench', '1.0.0', dayQ, new Date(day0 + 2 * DAY))))}`);

    // Baseline: the raw-window path (what /totals does): parse and merge 200 devices × 24 windows.
    const raw = ws.map((w) => JSON.stringify(w));
    const n = 200 * HOURS;
    const s = performance.now();
    const parsed: SummaryWindow[] = [];
    for (let i = 0; i < n; i++) parsed.push(JSON.parse(raw[i % raw.length] as string) as SummaryWindow);
    windowTotals(parsed);
    const rawMs = performance.now() - s;
    const rawPerRow = rawMs / n;
    const rollPerRow = hourly / (DEVICES * HOURS);
    console.log(`  baseline, same run: merging raw windows ${fmt(rawPerRow * 1000, 1)} us each vs rollups ${fmt(rollPerRow * 1000, 2)} us each (incl. drift) = ${fmt(rawPerRow / rollPerRow, 1)}x faster; 240,000 raw windows would take ~${fmt(rawPerRow * DEVICES * HOURS)} ms`);
  } finally {
    h.close();
  }
}

// --part 1 or --part 2: only that part (the ingest ratio takes a minute, the drift part several).
const part = process.argv.includes('--part') ? Number(process.argv[process.argv.indexOf('--part') + 1]) : undefined;
if (part !== 2) benchIngest();
if (part !== 1) benchDrift();
if (failures.length) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exitCode = 1;
}

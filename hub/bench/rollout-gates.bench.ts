// Rollout gate evaluation bench (issue 10): the gates of a canary (500 devices on the new version)
// against control (9,500 devices on the previous one) over 24 h, from one window per device and hour
// (240,000 windows shaped like the example model: 12 numeric features x 10 bins, latency, one output
// with 10 bins) stored in hub.db as ingest stores them (with their hourly rollups). The 24 h run from
// noon to noon, so no whole UTC day lies inside and every device's 24 hourly rollups are read.
// Measured in the same run, each with evaluateGates: the engine's GateData over the hourly rollups
// (hub/src/rollouts/rollup-gate-data.ts) — cold (the fleet rows of each hour built by this query),
// warm, and warm with the newest hour changed (its fleet rows deleted, as ingest does every batch: the
// steady state of a running wave) — against the window-merging GateData (gate-data.ts) over the same
// rows, and reading the rows from SQLite without parsing them. Cold twice: with the fleet rows summed by
// the query itself, and after the hub's fleet row builder summed the closed hours (its CPU shown apart). Also a judge-shaped range (from 20 min
// past the hour to the end of the current hour, hub/src/rollouts/judge.ts). Target < 1 s. Figures: docs/performance.md ("Rollout gates").
// Run: node --conditions=source --import tsx hub/bench/rollout-gates.bench.ts [--devices N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GateConfig, LATENCY_BOUNDS_MS, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../src/store/index.js';
import { HUB_MIGRATIONS } from '../src/schema.js';
import { WindowGateData, type GateData } from '../src/rollouts/gate-data.js';
import { RollupGateData } from '../src/rollouts/rollup-gate-data.js';
import { evaluateGates } from '../src/rollouts/gates.js';
import { numericReference, registerVersion } from '../src/rollups/testing.js';
import { FleetRowBuilder } from '../src/rollups/fleet-builder.js';
import { noopLogger } from '../src/mqtt/ports.js';

const arg = process.argv.indexOf('--devices');
const DEVICES = arg > 0 ? Number(process.argv[arg + 1]) : 10_000;
const CANARY = Math.round(DEVICES / 20);
const HOURS = 24;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const EDGES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function window(seq: number, version: string, hour: number): SeqWindow {
  const count = 3600;
  const hist = (i: number) => ({ counts: Array.from({ length: 10 }, (_, b) => 300 + ((seq + i + b) % 7) * 10), under: 0, over: 0 });
  const latency = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, () => 0);
  latency[18] = count - 40;
  latency[24] = 40;
  return {
    seq, model: 'vib', version, start: new Date(T0 + hour * 3600_000).toISOString(), lengthSec: 3600, count, errors: { INFERENCE_FAILED: seq % 5, INVALID_INPUT: 3 },
    latency: { counts: latency, sumMs: count * 2 },
    features: Array.from({ length: 12 }, (_, i) => ({ kind: 'numeric' as const, name: `f${i}`, hist: hist(i), moments: { n: count, mean: 0.5, m2: 1, min: 0, max: 1 }, nulls: 0, nans: 0 })),
    outputs: [{ name: 'p', index: 0, hist: hist(99), moments: { n: count, mean: 0.4, m2: 0.9, min: 0, max: 1 } }],
    inputs: [],
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-gates-'));
const store = Store.open(dir, HUB_MIGRATIONS);
try {
  const reference = {
    id: 'a'.repeat(64), rows: 1000, features: Array.from({ length: 12 }, (_, i) => numericReference(`f${i}`)),
    outputs: [{ name: 'p', index: 0, edges: EDGES, counts: EDGES.slice(1).map(() => 100), under: 0, over: 0 }],
  };
  const features = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, index: i, kind: 'numeric' as const }));
  for (const v of ['1.0.0', '2.0.0']) registerVersion(store.db, 'vib', v, { features, reference });
  const t0 = performance.now();
  const at = new Date(T0 + HOURS * 3600_000);
  const ids = Array.from({ length: DEVICES }, (_, i) => `d-${i}`);
  store.db.transaction(() => {
    for (const [i, id] of ids.entries()) {
      const version = i < CANARY ? '2.0.0' : '1.0.0';
      store.telemetry.putWindows(id, Array.from({ length: HOURS }, (_, h) => window(h + 1, version, h)), at);
    }
  })();
  console.log(`stored ${(DEVICES * HOURS).toLocaleString('en')} windows (${DEVICES.toLocaleString('en')} devices x ${HOURS} h) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const q = (version: string, devices: string[], from = T0, to = at.getTime()) => ({ model: 'vib', version, devices: new Set(devices), from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  const canary = ids.slice(0, CANARY);
  const control = ids.slice(CANARY);
  const cfg = GateConfig.parse({});
  const gatesOf = (data: GateData, from?: number, to?: number) => {
    const wave = data.stats(q('2.0.0', canary, from, to));
    const ctl = data.stats(q('1.0.0', control, from, to));
    const gates = evaluateGates({ cfg, install: { notified: CANARY, active: CANARY, failed: 0 }, wave, control: ctl, reference: undefined, preflightP95: [] });
    return { counts: `${wave.count}/${ctl.count}`, verdicts: gates.map((g) => `${g.name}=${g.verdict}`).join(' ') };
  };
  // Wall and CPU time of this process (the machine is shared: wall time can be several times CPU time).
  type Timed<T> = { wall: number; cpu: number; r: T };
  const time = <T>(f: () => T): Timed<T> => {
    const t = performance.now();
    const c = process.cpuUsage();
    const r = f();
    const u = process.cpuUsage(c);
    return { wall: performance.now() - t, cpu: (u.user + u.system) / 1000, r };
  };
  const newestHour = T0 + (HOURS - 1) * 3600_000;
  const changeNewestHour = () => store.db.prepare('DELETE FROM rollup_fleet WHERE start = ? AND grain = 3600').run(newestHour);

  const base = time(() => {
    let n = 0;
    for (const row of store.db.prepare('SELECT device_id, window FROM device_windows WHERE model = ? AND start >= ? AND start < ?').iterate('vib', q('', []).from, q('', []).to) as IterableIterator<{ window: string }>) n += row.window.length;
    return n;
  });
  const rollups = new RollupGateData(store);
  const cold = time(() => gatesOf(rollups));
  // As the hub runs: the fleet row builder (hub/src/rollups/fleet-builder.ts) sums each hour once it
  // closed, off the gates' path; the first evaluation after a long bake then finds them.
  store.db.prepare('DELETE FROM rollup_fleet').run();
  const builder = new FleetRowBuilder({ rollups: store.rollups, clock: { now: () => new Date(at.getTime() + 600_000) }, logger: noopLogger });
  const built = time(() => builder.runOnce());
  const coldBuilt = time(() => gatesOf(new RollupGateData(store)));
  const warm: Array<Timed<unknown>> = [];
  const changed: Array<Timed<unknown>> = [];
  const judge: Array<Timed<unknown>> = [];
  for (let r = 0; r < 3; r++) {
    warm.push(time(() => gatesOf(rollups)));
    changeNewestHour();
    changed.push(time(() => gatesOf(rollups)));
    changeNewestHour();
    judge.push(time(() => gatesOf(rollups, T0 + 20 * 60_000, Math.ceil((at.getTime() + 1) / 3600_000) * 3600_000)));
  }
  const byWindows = time(() => gatesOf(new WindowGateData(store.db)));
  const same = cold.r.counts === byWindows.r.counts && cold.r.verdicts === byWindows.r.verdicts;
  const best = (xs: Array<Timed<unknown>>) => xs.reduce((a, b) => (b.cpu < a.cpu ? b : a));
  const f = (t: Timed<unknown>) => `${t.cpu.toFixed(0)} ms CPU (${t.wall.toFixed(0)} ms wall)`;
  const ratio = (t: Timed<unknown>) => `${(byWindows.cpu / t.cpu).toFixed(0)}x less CPU than windows`;
  console.log(`${CANARY} canary vs ${DEVICES - CANARY} control devices x ${HOURS} h; predictions wave/control ${cold.r.counts}; gates: ${cold.r.verdicts}`);
  console.log(`  rollups and windows agree: ${same ? 'yes' : `NO (windows: ${byWindows.r.counts} ${byWindows.r.verdicts})`}`);
  console.log(`  baseline, ${(base.r / 1e6).toFixed(0)} MB of window rows read from SQLite, not parsed: ${f(base)}`);
  console.log(`  windows merged (WindowGateData):        ${f(byWindows)}`);
  console.log(`  rollups, cold (fleet rows built by the query): ${f(cold)}; ${ratio(cold)}`);
  console.log(`  fleet row builder, ${built.r} rows of closed hours (off the gates' path, once per hour): ${f(built)}`);
  console.log(`  rollups, cold after the builder:        ${f(coldBuilt)}; ${ratio(coldBuilt)}`);
  console.log(`  rollups, warm:                          ${f(best(warm))}; ${ratio(best(warm))} (best of 3)`);
  console.log(`  rollups, newest hour changed:           ${f(best(changed))}; ${ratio(best(changed))} (best of 3)`);
  console.log(`  rollups, judge's range (partial first hour): ${f(best(judge))}; ${ratio(best(judge))} (best of 3)`);
  console.log(`  target < 1000 ms (newest hour changed, the steady state): ${best(changed).cpu < 1000 ? 'met' : 'NOT met'} by CPU, ${best(changed).wall < 1000 ? 'met' : 'NOT met'} by wall; cold after the builder: ${coldBuilt.cpu < 1000 ? 'met' : 'NOT met'} by CPU`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

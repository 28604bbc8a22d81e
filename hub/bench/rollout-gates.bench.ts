// Rollout gate evaluation bench (issue 10): the gates of a canary (500 devices on the new version)
// against control (9,500 devices on the previous one) over 24 h, from one window per device and hour
// (240,000 windows shaped like the example model: 12 numeric features x 10 bins, latency, one output
// with 10 bins) stored in hub.db — the shape the hourly rollups (hub/src/rollups/) give. Measured: the
// engine's GateData over stored windows (hub/src/rollouts/gate-data.ts) plus evaluateGates. Baseline in
// the same run: reading the same rows from SQLite without parsing or merging them. Target < 1 s — not
// met over raw windows (2026-12-02, loaded 2-core machine: 26.6 s vs a 5.0 s read baseline, 5.3x): the
// gates are to read the hourly rollups per model version instead (docs/rollouts.md "Gates").
// Run: node --conditions=source --import tsx hub/bench/rollout-gates.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GateConfig, LATENCY_BOUNDS_MS, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../src/store/index.js';
import { HUB_MIGRATIONS } from '../src/schema.js';
import { WindowGateData } from '../src/rollouts/gate-data.js';
import { evaluateGates } from '../src/rollouts/gates.js';

const DEVICES = 10_000;
const CANARY = 500;
const HOURS = 24;
const T0 = Date.parse('2026-03-01T00:00:00Z');

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

  const q = (version: string, devices: string[]) => ({ model: 'vib', version, devices: new Set(devices), from: new Date(T0).toISOString(), to: at.toISOString() });
  const canary = ids.slice(0, CANARY);
  const control = ids.slice(CANARY);
  const data = new WindowGateData(store.db);
  const cfg = GateConfig.parse({});
  const runs: number[] = [];
  const base: number[] = [];
  let verdicts = '';
  for (let r = 0; r < 2; r++) {
    const b0 = performance.now();
    let chars = 0;
    for (const row of store.db.prepare('SELECT device_id, window FROM device_windows WHERE model = ? AND start >= ? AND start < ?').iterate('vib', q('', []).from, q('', []).to) as IterableIterator<{ window: string }>) chars += row.window.length;
    base.push(performance.now() - b0);
    const g0 = performance.now();
    const wave = data.stats(q('2.0.0', canary));
    const ctl = data.stats(q('1.0.0', control));
    const gates = evaluateGates({ cfg, install: { notified: CANARY, active: CANARY, failed: 0 }, wave, control: ctl, reference: undefined, preflightP95: [] });
    runs.push(performance.now() - g0);
    verdicts = gates.map((g) => `${g.name}=${g.verdict}`).join(' ');
    if (r === 0) console.log(`read ${(chars / 1e6).toFixed(0)} MB of window JSON; gates: ${verdicts}`);
  }
  const best = Math.min(...runs);
  const floor = Math.min(...base);
  console.log(`gate evaluation, ${CANARY} canary vs ${DEVICES - CANARY} control devices x ${HOURS} h: ${best.toFixed(0)} ms (best of 2; runs ${runs.map((x) => x.toFixed(0)).join(', ')} ms)`);
  console.log(`baseline (same rows read from SQLite, not parsed): ${floor.toFixed(0)} ms; ratio ${(best / floor).toFixed(2)}x; target < 1000 ms: ${best < 1000 ? 'met' : 'NOT met'}`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

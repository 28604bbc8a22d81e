// Micro-benchmark: the cost of recording one prediction's features into the
// sketches (addToHistogram + addMoment for 16 features), against an empty loop
// over the same data measured in the same run. Prints ns per prediction and the
// ratio. Run: node --conditions=source --import tsx shared/bench/sketch.bench.ts
import { addMoment, addToHistogram, emptyHistogram, emptyMoments } from '../src/index.js';

const FEATURES = 16;
const ROWS = 4096;
const BUDGET_MS = 1500;

// Decile-like edges (11 edges, 10 bins) per feature, like a reference profile.
const edges = Array.from({ length: FEATURES }, (_, f) => Float64Array.from({ length: 11 }, (_, i) => f + i * 0.1));
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const rows = Array.from({ length: ROWS }, () => Float64Array.from({ length: FEATURES }, (_, f) => f - 0.1 + rand() * 1.2));
const hists = edges.map((e) => emptyHistogram(e.length - 1));
const moments = edges.map(() => emptyMoments());

let sink = 0;
function baseline(n: number): void {
  for (let r = 0; r < n; r++) {
    const row = rows[r % ROWS] as Float64Array;
    for (let f = 0; f < FEATURES; f++) sink += row[f] as number;
  }
}
function record(n: number): void {
  for (let r = 0; r < n; r++) {
    const row = rows[r % ROWS] as Float64Array;
    for (let f = 0; f < FEATURES; f++) {
      const x = row[f] as number;
      addToHistogram(hists[f]!, edges[f]!, x);
      addMoment(moments[f]!, x);
    }
  }
}

function nsPerRow(fn: (n: number) => void, n: number): number {
  const t0 = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

// Warm up (JIT), then size the run so both together stay within the budget.
baseline(20_000);
record(20_000);
const probe = nsPerRow(record, 20_000);
const n = Math.max(20_000, Math.min(2_000_000, Math.floor((BUDGET_MS * 1e6 * 0.4) / probe)));
const base = nsPerRow(baseline, n);
const rec = nsPerRow(record, n);
console.log(`sketch record (${FEATURES} features: addToHistogram + addMoment), ${n} rows`);
console.log(`  baseline loop      ${base.toFixed(1)} ns/row`);
console.log(`  record             ${rec.toFixed(1)} ns/row   (${(rec / FEATURES).toFixed(1)} ns/feature)`);
console.log(`  record - baseline  ${(rec - base).toFixed(1)} ns/row   ratio ${(rec / base).toFixed(1)}x`);
if (sink === 42 || moments[0]!.n === 0) console.log('');

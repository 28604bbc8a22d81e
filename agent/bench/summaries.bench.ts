// Summary recording cost per prediction for 16 features (target < 1 µs), against
// an empty loop over the same prebuilt tensors (the baseline).
import { SummaryRecorder } from '../src/summaries/recorder.js';
import { tabularManifest } from '../src/summaries/fixtures.js';
import type { RecordedTensor } from '../src/runtime/recorder.js';

const N = 1_000_000;
const manifest = tabularManifest({ nFeatures: 16 });
const rec = new SummaryRecorder({ sink: { writeWindows() {} }, manifestOf: () => manifest });
const tensors: { x: RecordedTensor; y: RecordedTensor }[] = Array.from({ length: 64 }, (_, k) => ({
  x: { name: 'x', datatype: 'FP32', shape: [1, 16], data: Float32Array.from({ length: 16 }, (_, i) => ((i * 7 + k * 13) % 50) / 10 - 0.5) },
  y: { name: 'y', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0.3, (k % 10) / 9]) },
}));
let sink = 0;
function empty(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = tensors[i & 63]!;
    sink += t.x.data.length + t.y.data.length;
  }
  return Number(process.hrtime.bigint() - t0) / n;
}
function recording(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = tensors[i & 63]!;
    rec.record('tab', '1.0.0', [t.x], [t.y], 0.42);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}
empty(N / 10);
recording(N / 10); // warm up the JIT
const base = empty(N);
const cost = recording(N);
const net = Math.max(0, cost - base);
console.log(`summary record (16 features + 1 output): ${cost.toFixed(0)} ns/prediction, empty loop ${base.toFixed(1)} ns -> ${net.toFixed(0)} ns net = ${(net / 1000).toFixed(3)} µs (target < 1 µs) ${net < 1000 ? 'OK' : 'MISSED'}`);
rec.flush();
if (sink < 0) console.log(sink);

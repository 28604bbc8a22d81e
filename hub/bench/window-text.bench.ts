// What the hub pays per window for the JSON it stores (docs/decisions/0048-stored-window-text.md):
// serialising the parsed window again (JSON.stringify of all but its seq, as before) against cutting
// its text from the payload (storedWindowTexts: one scan of the payload, the seq member removed).
// The ingest bench's batch (10 windows, 12 features × 10 bins, test/bench/ingest.bench.ts), in both
// seq layouts; CPU µs per window, rounds alternated, the median reported with the load average.
// Run: node --conditions=source --import tsx hub/bench/window-text.bench.ts [--rounds N]
import { loadavg } from 'node:os';
import { fastTelemetryBatch, storedWindowTexts, type TelemetryBatch } from '@edgefleet/shared';
import { simTelemetry } from '../../test/src/sim/index.js';

const arg = process.argv.indexOf('--rounds');
const ROUNDS = arg > 0 ? Number(process.argv[arg + 1]) : 15;
const REPS = 2_000;

const sim = simTelemetry('dev-1', Array.from({ length: 10 }, (_, i) => i + 1), new Date(), { features: 12, bins: 10 });
const layouts: Record<string, string> = {
  'seq first (simulators)': JSON.stringify(sim),
  'seq last (agent)': JSON.stringify({ ...sim, windows: sim.windows.map(({ seq, ...w }) => ({ ...w, seq })) }),
};

const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

function perWindow(batch: TelemetryBatch, f: () => unknown): number {
  const t0 = cpuUs();
  for (let i = 0; i < REPS; i++) f();
  return (cpuUs() - t0) / REPS / batch.windows.length;
}

console.log(`stored window JSON, CPU µs per window (median of ${ROUNDS} alternated rounds; load ${loadavg()[0]?.toFixed(1)})`);
for (const [name, text] of Object.entries(layouts)) {
  const batch = fastTelemetryBatch(JSON.parse(text));
  if (!batch) throw new Error('the bench batch should pass the fast path');
  const bytes = Buffer.from(text);
  const cut = storedWindowTexts(text, bytes, batch);
  if (!cut || cut.some((t, i) => t !== JSON.stringify({ ...batch.windows[i], seq: undefined }))) throw new Error('cut texts differ from serialised ones');
  const serialise = () => batch.windows.map(({ seq: _seq, ...w }) => JSON.stringify(w));
  const cutting = () => storedWindowTexts(text, bytes, batch);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(perWindow(batch, serialise));
    b.push(perWindow(batch, cutting));
  }
  console.log(`  ${name.padEnd(24)} serialise ${median(a).toFixed(2)} µs | cut from the payload ${median(b).toFixed(2)} µs | saved ${(median(a) - median(b)).toFixed(2)} µs   (${text.length} characters a batch)`);
}
console.log(`load ${loadavg()[0]?.toFixed(1)} after`);

// What a telemetry window costs the hub part by part, as JSON and as a compact binary encoding, so the
// case for a binary telemetry wire (issue 13's 0.8×) is measured rather than projected
// (docs/decisions/0056-no-wire-reaches-the-ingest-target.md). Per window, the ingest bench's batch
// (10 windows, 12 features × 10 bins; --features N): the bytes; the hub's parse and check
// (JSON.parse + fastTelemetryBatch) against decoding the binary form into the same objects; what the
// bare repository pays to serialise a window (JSON.stringify) against encoding it; cutting the stored
// text from the payload (storedWindowTexts, decision 0048); and SQLite inserts into the hub's own
// device_windows table (the migrated schema) of the JSON text against the binary bytes, 10 and 500 a
// transaction. The binary encoding is a candidate written here for the measurement (varint counts,
// float64 moments, strings length-prefixed, the start as epoch ms) covering the fields these windows
// carry; the product has none. CPU µs per window, rounds alternated, medians.
// Run: node --conditions=source --import tsx hub/bench/wire-parts.bench.ts [--rounds N] [--features N]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastTelemetryBatch, storedWindowTexts, type FeatureSummary, type HistogramSketch, type MomentsSketch, type SeqWindow } from '@edgefleet/shared';
import { simTelemetry } from '../../test/src/sim/index.js';
import { Store } from '../src/store/index.js';
import { HUB_MIGRATIONS } from '../src/schema.js';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(process.argv[i + 1] ?? '')}`);
  return v;
}
const ROUNDS = flag('--rounds', 9);
const FEATURES = flag('--features', 12);
const K = 10;
const BATCHES = 200;

/** Writes the candidate encoding into one growing buffer (reused: no allocation per window). */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  at = 0;
  uint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.at++] = v;
  }
  f64(v: number): void {
    this.at = this.buf.writeDoubleLE(v, this.at);
  }
  str(v: string): void {
    const n = this.buf.write(v, this.at + 1, 'utf8');
    if (n > 127) throw new Error(`a string of ${n} bytes: the candidate encoding takes at most 127`);
    this.buf[this.at] = n;
    this.at += 1 + n;
  }
  counts(a: readonly number[]): void {
    this.uint(a.length);
    for (const x of a) this.uint(x);
  }
  /** A presence flag, then the histogram if there is one. */
  hist(h: HistogramSketch | undefined): void {
    this.uint(h ? 1 : 0);
    if (!h) return;
    this.counts(h.counts);
    this.uint(h.under);
    this.uint(h.over);
  }
  moments(m: MomentsSketch): void {
    this.uint(m.n);
    this.f64(m.mean);
    this.f64(m.m2);
    this.f64(m.min ?? NaN);
    this.f64(m.max ?? NaN);
  }
}

class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  uint(): number {
    let v = 0;
    let mul = 1;
    let b: number;
    do {
      b = this.buf[this.at++] as number;
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }
  str(): string {
    const n = this.buf[this.at] as number;
    const v = this.buf.toString('utf8', this.at + 1, this.at + 1 + n);
    this.at += 1 + n;
    return v;
  }
  counts(): number[] {
    const n = this.uint();
    const a = new Array<number>(n);
    for (let i = 0; i < n; i++) a[i] = this.uint();
    return a;
  }
  hist(): HistogramSketch | undefined {
    return this.uint() ? { counts: this.counts(), under: this.uint(), over: this.uint() } : undefined;
  }
  moments(): MomentsSketch {
    const n = this.uint(), mean = this.f64(), m2 = this.f64(), min = this.f64(), max = this.f64();
    return { n, mean, m2, min: Number.isNaN(min) ? null : min, max: Number.isNaN(max) ? null : max };
  }
}

function encode(w: Writer, x: SeqWindow): void {
  if (x.features.some((f) => f.kind !== 'numeric') || x.inputs.length || x.errorLatency || x.feedback || x.confidence || x.shadow || x.referenceId) {
    throw new Error('the candidate encoding covers the fields of the bench windows only');
  }
  w.uint(x.seq);
  w.str(x.model);
  w.str(x.version);
  w.f64(Date.parse(x.start));
  w.uint(x.lengthSec);
  w.uint(x.count);
  const errors = Object.entries(x.errors);
  w.uint(errors.length);
  for (const [code, n] of errors) {
    w.str(code);
    w.uint(n);
  }
  w.counts(x.latency.counts);
  w.f64(x.latency.sumMs);
  w.uint(x.features.length);
  for (const f of x.features as Array<Extract<FeatureSummary, { kind: 'numeric' }>>) {
    w.str(f.name);
    w.hist(f.hist);
    w.moments(f.moments);
    w.uint(f.nulls);
    w.uint(f.nans);
  }
  w.uint(x.outputs.length);
  for (const o of x.outputs) {
    w.str(o.name);
    w.uint(o.index);
    w.hist(o.hist);
    w.moments(o.moments);
  }
}

function decode(r: Reader): SeqWindow {
  const seq = r.uint(), model = r.str(), version = r.str(), start = new Date(r.f64()).toISOString(), lengthSec = r.uint(), count = r.uint();
  const errors: Record<string, number> = {};
  for (let i = r.uint(); i > 0; i--) errors[r.str()] = r.uint();
  const latency = { counts: r.counts(), sumMs: r.f64() };
  const features: FeatureSummary[] = [];
  for (let i = r.uint(); i > 0; i--) {
    const name = r.str();
    const hist = r.hist();
    const moments = r.moments();
    features.push({ kind: 'numeric', name, ...(hist ? { hist } : {}), moments, nulls: r.uint(), nans: r.uint() });
  }
  const outputs: SeqWindow['outputs'] = [];
  for (let i = r.uint(); i > 0; i--) {
    const name = r.str(), index = r.uint();
    const hist = r.hist();
    outputs.push({ name, index, ...(hist ? { hist } : {}), moments: r.moments() });
  }
  return { seq, model, version, start, lengthSec, count, errors, latency, features, outputs, inputs: [] };
}

const at = new Date('2026-12-03T10:00:00.000Z');
const sims = Array.from({ length: BATCHES }, (_, b) => simTelemetry('dev-00001', Array.from({ length: K }, (_x, i) => b * K + i + 1), at, { features: FEATURES, bins: 10 }));
const texts = sims.map((s) => JSON.stringify(s));
const payloads = texts.map((t) => Buffer.from(t));
const windows = sims.flatMap((s) => s.windows);
const N = windows.length;
const writer = new Writer();
const binaries = sims.map((s) => {
  writer.at = 0;
  writer.uint(s.windows.length);
  for (const x of s.windows) encode(writer, x);
  return Buffer.from(writer.buf.subarray(0, writer.at));
});
const decodeBatch = (b: Buffer): SeqWindow[] => {
  const r = new Reader(b);
  return Array.from({ length: r.uint() }, () => decode(r));
};
// The candidate must give back exactly the windows it was given, or its figures mean nothing.
binaries.forEach((b, i) => {
  if (JSON.stringify(decodeBatch(b)) !== JSON.stringify(sims[i]?.windows)) throw new Error(`batch ${i}: the binary round trip changed the windows`);
});
const storedBin = windows.map((x) => {
  writer.at = 0;
  encode(writer, x);
  return Buffer.from(writer.buf.subarray(0, writer.at));
});
const storedText = windows.map(({ seq: _seq, ...w }) => JSON.stringify(w));

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-wire-parts-'));
const store = Store.open(dir, HUB_MIGRATIONS);
const ins = store.db.prepare('INSERT OR IGNORE INTO device_windows (device_id, seq, model, version, start, length_sec, count, window, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
let device = 0;
const inserts = (values: ReadonlyArray<string | Buffer>, per: number) => {
  const tx = store.db.transaction((from: number, id: string) => {
    for (let i = from; i < Math.min(from + per, N); i++) {
      const w = windows[i] as SeqWindow;
      ins.run(id, w.seq, w.model, w.version, w.start, w.lengthSec, w.count, values[i], at.toISOString());
    }
  });
  return () => {
    const id = `dev-${device++}`;
    for (let i = 0; i < N; i += per) tx(i, id);
  };
};

const parts: Array<[string, () => unknown]> = [
  ['JSON: JSON.parse + fastTelemetryBatch (the hub\'s parse and check)', () => texts.forEach((t, i) => fastTelemetryBatch(JSON.parse(payloads[i]?.toString() ?? t))) ],
  ['binary: decode into the same objects', () => binaries.forEach(decodeBatch)],
  ['JSON: JSON.stringify a window (the bare repository\'s serialise)', () => windows.forEach(({ seq: _seq, ...w }) => JSON.stringify(w))],
  ['binary: encode a window', () => windows.forEach((x) => {
    writer.at = 0;
    encode(writer, x);
    return Buffer.from(writer.buf.subarray(0, writer.at));
  })],
  ['JSON: cut the stored texts from the payload (the hub, decision 0048)', () => sims.forEach((s, i) => storedWindowTexts(texts[i] as string, payloads[i] as Buffer, s))],
  ['SQLite: insert the JSON text, 10 a transaction', inserts(storedText, 10)],
  ['SQLite: insert the binary bytes, 10 a transaction', inserts(storedBin, 10)],
  ['SQLite: insert the JSON text, 500 a transaction', inserts(storedText, 500)],
  ['SQLite: insert the binary bytes, 500 a transaction', inserts(storedBin, 500)],
];

const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const samples = parts.map(() => [] as number[]);
for (const [, f] of parts) f(); // warm up
for (let r = 0; r < ROUNDS; r++) {
  parts.forEach(([, f], i) => {
    const t0 = cpuUs();
    f();
    samples[i]?.push((cpuUs() - t0) / N);
  });
}
store.close();
rmSync(dir, { recursive: true, force: true });

const bytes = (xs: ReadonlyArray<{ length: number }>) => xs.reduce((a, x) => a + x.length, 0) / N;
console.log(`wire parts, CPU µs per window (median of ${ROUNDS} alternated rounds over ${N} windows, ${FEATURES} features × 10 bins; load ${loadavg()[0]?.toFixed(1)})`);
console.log(`  bytes a window in a batch of ${K}: JSON ${bytes(payloads).toFixed(0)}, binary ${bytes(binaries).toFixed(0)} (${(bytes(payloads) / bytes(binaries)).toFixed(1)}x fewer)`);
parts.forEach(([name], i) => console.log(`  ${name.padEnd(70)} ${median(samples[i] ?? []).toFixed(1).padStart(6)} µs`));
console.log(`load ${loadavg()[0]?.toFixed(1)} after`);

// Every window the agent records passes the hub's plausibility checks (docs/hub.md "What the hub accepts
// from devices"): the agent's own SummaryRecorder (agent/src/summaries, the recorder the daemon runs) is
// fed random traffic (fast-check, fixed seeds): batches of 0 to 300 rows with NaN, ±Infinity, ±0, values
// at the reference edges, constant, two-point and huge-but-finite columns, categorical values in and out
// of the vocabulary, refused requests of every kind, labels for a classifier and a regressor, shadow runs
// that finish, fail, are dropped or finish after their window was written, latencies at the buckets'
// exact bounds, in the overflow bucket and from a clock stepping back, and a wall clock that jumps both
// ways. Each closed window and each checkpoint of the open ones goes through JSON and the wire schema as
// the hub reads it, then checkWindow; so do merges of them (the agent's compaction, mergeWindows). A false
// refusal here would be real data lost at the hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SummaryRecorder, type RecordedTensor, type ShadowSampler, type ShadowTallies } from '@edgefleet/agent';
import { checkWindow, DEFAULT_INGEST_LIMITS, type DeviceContext } from '@edgefleet/hub';
import { LATENCY_BOUNDS_MS, Manifest, TelemetryBatch, mergeWindows, parseWire, type ManifestInput, type SeqWindow, type SummaryWindow } from '@edgefleet/shared';

const SHA = 'a'.repeat(64);
const T0 = Date.parse('2026-06-01T08:00:00.000Z');

function manifest(name: string, body: Pick<ManifestInput, 'io' | 'features' | 'reference' | 'task'>): Manifest {
  return parseWire(Manifest, {
    schema: 'edgefleet.manifest/v1', name, version: '1.0.0', created: '2026-01-01T00:00:00Z',
    files: [{ path: 'model.onnx', sha256: SHA, size: 1 }], entrypoint: 'model.onnx', runtime: { opset: 17, minAgentVersion: '0.1.0' },
    provenance: { data: [], training: { code: 'test' }, metrics: {}, reason: 'test' }, ...body,
  }, 'test manifest');
}

const moments = { n: 100, mean: 0, m2: 1, min: -1, max: 1 };
/** Tabular, every feature numeric on one input: the compiled dense loop; a classifier (CBPE, confusion counts). */
const DENSE = manifest('dense', {
  io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }, { name: 'aux', datatype: 'FP32', shape: [-1, 4] }] },
  features: [{ name: 'a', index: 0, kind: 'numeric' }, { name: 'b', index: 1, kind: 'numeric' }, { name: 'c', index: 2, kind: 'numeric' }],
  reference: {
    id: SHA, rows: 100,
    features: [
      { kind: 'numeric', name: 'a', edges: [0, 1, 2, 3, 4], counts: [25, 25, 25, 25], moments },
      { kind: 'numeric', name: 'b', edges: [-1, 0, 1], counts: [50, 50], moments },
    ],
    outputs: [{ name: 'probs', index: 1, edges: [0, 0.5, 1], counts: [50, 50] }],
  },
  task: { kind: 'classification', output: 'probs', classes: ['no', 'yes'] },
});
/** A categorical feature and features on two inputs (the general loop); float64 values; a regressor (error sums). */
const MIXED = manifest('mixed', {
  io: { inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, 2] }, { name: 'z', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'r', datatype: 'FP32', shape: [-1, 1] }] },
  features: [{ name: 'n1', index: 0, kind: 'numeric' }, { name: 'cat', index: 1, kind: 'categorical', vocabulary: ['p', 'q', 'r'] }, { name: 'zf', input: 'z', index: 0, kind: 'numeric' }],
  reference: {
    id: SHA, rows: 100,
    features: [
      { kind: 'numeric', name: 'n1', edges: [0, 10, 100], counts: [50, 50], moments },
      { kind: 'categorical', name: 'cat', counts: { p: 50, q: 30, r: 20 }, other: 0 },
      { kind: 'numeric', name: 'zf', edges: [0, 1], counts: [100], moments },
    ],
    outputs: [{ name: 'r', index: 0, edges: [-1, 0, 1], counts: [50, 50] }],
  },
  task: { kind: 'regression', output: 'r', index: 0 },
});
/** Non-tabular: whole-tensor input moments (an INT64 scalar too); a detection output of any number of boxes a request, a mask without a reference. */
const VISION = manifest('vision', {
  io: {
    inputs: [{ name: 'img', datatype: 'FP32', shape: [1, 3, 2, 2] }, { name: 'sr', datatype: 'INT64', shape: [] }],
    outputs: [{ name: 'boxes', datatype: 'FP32', shape: [-1, 6] }, { name: 'mask', datatype: 'FP32', shape: [1, 16] }],
  },
  reference: { id: SHA, rows: 100, features: [], outputs: [{ name: 'boxes', index: 4, edges: [0, 0.5, 1], counts: [50, 50] }] },
});
const MANIFESTS = new Map([DENSE, MIXED, VISION].map((m) => [m.name, m]));
/** Index 3 is a version whose manifest the agent does not know: count, errors and latency only. */
const MODELS = ['dense', 'mixed', 'vision', 'ghost'] as const;

/** Values a tensor may hold: mostly ordinary, some at edges and extremes (finite float32 and float64 alike). */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
  { weight: 2, arbitrary: fc.constantFrom(Infinity, -Infinity, 0, -0, 1, 2, 3, 4, 1 + 2 ** -52, 1 + 2 ** -23, 5e-324, 1e-40, 3.4e38, -3.4e38) },
  { weight: 1, arbitrary: fc.double({ min: -1e30, max: 1e30, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: 1e20, max: 1.0000001e20, noNaN: true }) },
);
const finite = fc.double({ min: -1e30, max: 1e30, noNaN: true, noDefaultInfinity: true });
/** Latencies as the runtime measures them, and what the recorder must survive (a clock stepping back, NaN). */
const latency = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 50, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(...LATENCY_BOUNDS_MS) },
  { weight: 1, arbitrary: fc.double({ min: 70_000, max: 1e9, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -5, Number.NaN) },
);
const runLatency = fc.oneof(fc.double({ min: 0, max: 50, noNaN: true }), fc.constantFrom(...LATENCY_BOUNDS_MS), fc.double({ min: 70_000, max: 1e9, noNaN: true }));

type Step =
  | { kind: 'predict'; model: number; rows: number; values: number[]; latency: number }
  | { kind: 'error'; model: number; code: string; latency: number }
  | { kind: 'label'; regressor: boolean; label: number; predicted: number; classes: [number, number] }
  | { kind: 'time'; ms: number }
  | { kind: 'shadow'; fail: boolean; agree: boolean; latency: number }
  | { kind: 'tick' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('predict' as const), model: fc.integer({ min: 0, max: 3 }), rows: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 9, max: 300 })), values: fc.array(value, { minLength: 1, maxLength: 6 }), latency }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('error' as const), model: fc.integer({ min: 0, max: 3 }), code: fc.constantFrom('INVALID_INPUT', 'OVERLOADED', 'INFERENCE_FAILED', 'TIMEOUT', 'SOMETHING_NEW'), latency }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('label' as const), regressor: fc.boolean(), label: finite, predicted: finite, classes: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: -120_000, max: -1 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shadow' as const), fail: fc.boolean(), agree: fc.boolean(), latency: runLatency }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
);

/** `n` values cycling through `values` (one value: a constant column; two: a two-point one). */
function fill<A extends Float32Array | Float64Array>(a: A, values: readonly number[], offset = 0): A {
  for (let i = 0; i < a.length; i++) a[i] = values[(i + offset) % values.length] as number;
  return a;
}

/** The request's feeds and the model's outputs, as the runtime hands them to the recorder. */
function traffic(model: string, rows: number, values: readonly number[]): { feeds: RecordedTensor[]; outputs: RecordedTensor[] } {
  const f32 = (name: string, shape: number[], off = 0): RecordedTensor => ({ name, datatype: 'FP32', shape, data: fill(new Float32Array(shape.reduce((p, d) => p * d, 1)), values, off) });
  switch (model) {
    case 'dense':
      return { feeds: [f32('x', [rows, 3])], outputs: [f32('probs', [rows, 2], 1), f32('aux', [rows, 4], 2)] };
    case 'mixed':
      return {
        feeds: [{ name: 'x', datatype: 'FP64', shape: [rows, 2], data: fill(new Float64Array(rows * 2), values) }, f32('z', [rows, 1], 1)],
        outputs: [f32('r', [rows, 1], 2)],
      };
    case 'vision':
      // `rows` boxes for one image: a detection model's output rows are not the request's rows.
      return { feeds: [f32('img', [1, 3, 2, 2]), { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.of(16_000n) }], outputs: [f32('boxes', [rows, 6], 1), f32('mask', [1, 16], 2)] };
    default:
      return { feeds: [f32('x', [rows, 2])], outputs: [f32('y', [rows, 1])] };
  }
}

/** The shadow runner's counting (agent/src/shadow/runner.ts `offer`, `run`): sampled or dropped when the queue is full, run later. */
class Shadow implements ShadowSampler {
  readonly jobs: Array<ReturnType<ShadowTallies['shadowTally']>> = [];
  private credit = 0;
  offer(model: string, _version: string, _feeds: readonly RecordedTensor[], _outputs: readonly RecordedTensor[], window: ShadowTallies): void {
    if (model !== 'dense') return;
    this.credit += 0.5;
    if (this.credit < 1) return;
    this.credit -= 1;
    const t = window.shadowTally('2.0.0');
    if (this.jobs.length >= 3) t.dropped++;
    else {
      t.sampled++;
      this.jobs.push(t);
    }
  }
}

/** Runs `steps` through a recorder: the windows it wrote closed, and every checkpoint of its open ones. */
function record(steps: readonly Step[], windowSec: number): { closed: SummaryWindow[]; checkpoints: SummaryWindow[] } {
  const closed: SummaryWindow[] = [];
  const checkpoints: SummaryWindow[] = [];
  let now = T0;
  const shadow = new Shadow();
  const rec = new SummaryRecorder({
    sink: {
      writeWindows: (ws) => { closed.push(...ws); },
      persist: (ws, open) => { closed.push(...ws); checkpoints.push(...open); },
    },
    manifestOf: (name) => MANIFESTS.get(name),
    clock: { now: () => now },
    windowSec,
    checkpointMs: 1,
    shadow,
  });
  for (const s of steps) {
    switch (s.kind) {
      case 'predict': {
        const model = MODELS[s.model]!;
        const { feeds, outputs } = traffic(model, s.rows, s.values);
        rec.record(model, '1.0.0', feeds, outputs, s.latency);
        break;
      }
      case 'error':
        rec.recordError(MODELS[s.model]!, '1.0.0', s.code, s.latency);
        break;
      case 'label':
        if (s.regressor) rec.recordLabel('mixed', '1.0.0', 0, s.label, s.predicted);
        else rec.recordLabel('dense', '1.0.0', 2, s.classes[0], s.classes[1]);
        break;
      case 'time':
        now += s.ms;
        break;
      case 'shadow': {
        const t = shadow.jobs.shift();
        if (t) {
          if (s.fail) t.failed();
          else t.ran(s.latency, s.agree);
        }
        break;
      }
      case 'tick':
        now += 1;
        rec.tick();
        break;
    }
  }
  rec.stop();
  for (const t of shadow.jobs) t.ran(1, true); // after their window was written: not counted
  return { closed, checkpoints };
}

const ctx: DeviceContext = { nowMs: T0 + 86_400_000, maxSeq: 0, allowed: () => true };

/** Through JSON and the wire schema as the hub receives it, then the plausibility checks. */
function assertAccepted(windows: readonly SummaryWindow[], what: string): void {
  if (windows.length === 0) return;
  const batch = parseWire(TelemetryBatch, JSON.parse(JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'dev-1', windows: windows.map((w, i) => ({ ...w, seq: i + 1 })) })), 'telemetry');
  for (const w of batch.windows as SeqWindow[]) {
    const reason = checkWindow(w, ctx, DEFAULT_INGEST_LIMITS);
    assert.equal(reason, null, `${what}: ${reason} for ${JSON.stringify(w)}`);
  }
}

/** The agent's compaction merges windows of a version by summing (retention.ts, mergeWindows): a random tree of them. */
function merges(windows: readonly SummaryWindow[], order: readonly number[]): SummaryWindow[] {
  const byVersion = new Map<string, SummaryWindow[]>();
  for (const w of windows) byVersion.set(w.model, [...(byVersion.get(w.model) ?? []), w]);
  const out: SummaryWindow[] = [];
  for (const list of byVersion.values()) {
    const pool = [...list];
    let k = 0;
    while (pool.length > 1) {
      const i = (order[k++ % Math.max(1, order.length)] ?? 0) % pool.length;
      const [a] = pool.splice(i, 1) as [SummaryWindow];
      const [b] = pool.splice((order[k++ % Math.max(1, order.length)] ?? 0) % pool.length, 1) as [SummaryWindow];
      const m = mergeWindows(a, b);
      out.push(m);
      pool.push(m);
    }
  }
  return out;
}

test('windows the agent records from random traffic, and their merges, all pass checkWindow', () => {
  // What the runs covered, so that the property is not passed by windows that lack the hard parts.
  const seen = { windows: 0, merged: 0, rows: 0, shadow: 0, lateOrDropped: 0, errorLatency: 0, confusion: 0, errorSums: 0, confidence: 0, inputs: 0, nans: 0, nulls: 0, overflow: 0, moreOutputsThanRows: 0 };
  const tally = (ws: readonly SummaryWindow[]) => {
    for (const w of ws) {
      seen.windows++;
      seen.rows += w.count;
      if (w.shadow) seen.shadow++;
      if (w.shadow?.some((s) => s.dropped > 0 || s.runs + s.errors < s.sampled)) seen.lateOrDropped++;
      if (w.errorLatency) seen.errorLatency++;
      if (w.feedback?.confusion) seen.confusion++;
      if ((w.feedback?.sqErrorSum ?? 0) > 0) seen.errorSums++;
      if (w.confidence && w.confidence.n > 0) seen.confidence++;
      if (w.inputs.some((i) => i.moments.n > 0)) seen.inputs++;
      if (w.features.some((f) => f.kind === 'numeric' && f.nans > 0)) seen.nans++;
      if (w.features.some((f) => f.kind === 'categorical' && f.nulls > 0)) seen.nulls++;
      if ((w.latency.counts[LATENCY_BOUNDS_MS.length] ?? 0) > 0) seen.overflow++;
      if (w.outputs.some((o) => o.moments.n > w.count)) seen.moreOutputsThanRows++;
    }
  };
  fc.assert(
    fc.property(fc.array(step, { minLength: 20, maxLength: 300 }), fc.constantFrom(1, 60), fc.array(fc.nat(), { maxLength: 20 }), (steps, windowSec, order) => {
      const { closed, checkpoints } = record(steps, windowSec);
      tally(closed);
      assertAccepted(closed, 'recorded');
      // A checkpoint becomes closed windows only after a crash (recoverOpen), in place of the ones it would have closed into.
      assertAccepted(checkpoints, 'checkpoint');
      const merged = merges(closed, order);
      seen.merged += merged.length;
      assertAccepted(merged, 'merged');
    }),
    { seed: 20_260_601, numRuns: 200 },
  );
  for (const [k, n] of Object.entries(seen)) assert.ok(n >= 10, `the runs covered ${k} only ${n} times: ${JSON.stringify(seen)}`);
});

test('long columns at the bounds: Popoviciu\'s equality, one-ulp spreads, 1e20-sized values, every latency at its bucket\'s bound', () => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1_000, max: 5_000 }), fc.constantFrom(...LATENCY_BOUNDS_MS), (values, rows, ms) => {
      const steps: Step[] = [];
      for (let i = 0; i < 20; i++) steps.push({ kind: 'predict', model: i % 3, rows, values, latency: ms }, { kind: 'error', model: i % 4, code: 'OVERLOADED', latency: ms });
      const { closed, checkpoints } = record(steps, 60);
      assertAccepted([...closed, ...checkpoints], 'long columns');
      assertAccepted(merges(closed, []), 'long columns merged');
    }),
    { seed: 7, numRuns: 30 },
  );
});

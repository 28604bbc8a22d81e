// Labels and confidence sums on the wire (docs/drift.md "Accuracy"): the fast path accepts exactly
// what zod accepts (and refuses malformed fields so zod names them); merging windows (the agent's
// compaction) adds them; a manifest's task must name an output that fits its classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Manifest, TelemetryBatch, emptyLatency, fastTelemetryBatch, mergeFeedback, mergeWindows, parseWire, type SummaryWindow } from '../index.js';

const win = (over: Partial<SummaryWindow>): SummaryWindow => ({
  model: 'm', version: '1.0.0', start: '2026-01-01T00:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: emptyLatency(), features: [], outputs: [], inputs: [], ...over,
});
const batch = (w: unknown) => JSON.parse(JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 'box-1', windows: [{ ...(w as object), seq: 1 }] })) as unknown;

test('windows with labels and confidence pass the fast path and zod alike; malformed ones go to zod, which names the field', () => {
  const good = win({ feedback: { labelled: 4, correct: 3, confusion: [2, 1, 0, 1] }, confidence: { n: 3, sum: 2.5 } });
  const fast = fastTelemetryBatch(batch(good));
  assert.ok(fast);
  assert.deepEqual(parseWire(TelemetryBatch, batch(good), 'batch'), fast);
  const regression = win({ feedback: { labelled: 2, correct: 0, absErrorSum: 1.5, sqErrorSum: 1.25 } });
  assert.ok(fastTelemetryBatch(batch(regression)));
  for (const [bad, field] of [
    [{ feedback: { labelled: -1, correct: 0 } }, /feedback\.labelled/],
    [{ feedback: { labelled: 1, correct: 0, confusion: [0.5] } }, /feedback\.confusion/],
    [{ feedback: { labelled: 1, correct: 0, confusion: new Array(64 * 64 + 1).fill(0) } }, /feedback\.confusion/],
    [{ confidence: { n: 1, sum: -1 } }, /confidence\.sum/],
  ] as const) {
    const b = batch(win(bad as Partial<SummaryWindow>));
    assert.equal(fastTelemetryBatch(b), null);
    assert.throws(() => parseWire(TelemetryBatch, b, 'batch'), field);
  }
  // An unknown key: the fast path declines, zod accepts and drops it (as for every window field).
  const extra = batch(win({ feedback: { labelled: 1, correct: 0, extra: 1 } as never }));
  assert.equal(fastTelemetryBatch(extra), null);
  assert.deepEqual(parseWire(TelemetryBatch, extra, 'batch').windows[0]?.feedback, { labelled: 1, correct: 0 });
});

test('merging windows adds labels, confusion counts, errors and confidence', () => {
  const a = win({ feedback: { labelled: 2, correct: 1, confusion: [1, 1, 0, 0] }, confidence: { n: 3, sum: 2 } });
  const b = win({ start: '2026-01-01T00:01:00.000Z', count: 0, feedback: { labelled: 3, correct: 3, confusion: [1, 0, 0, 2] } });
  const m = mergeWindows(a, b);
  assert.deepEqual(m.feedback, { labelled: 5, correct: 4, confusion: [2, 1, 0, 2] });
  assert.deepEqual(m.confidence, { n: 3, sum: 2 });
  assert.equal(mergeWindows(win({}), win({})).feedback, undefined);
  assert.deepEqual(mergeFeedback({ labelled: 1, correct: 0, absErrorSum: 2, sqErrorSum: 4 }, { labelled: 1, correct: 0, absErrorSum: 1, sqErrorSum: 1 }), { labelled: 2, correct: 0, absErrorSum: 3, sqErrorSum: 5 });
  assert.throws(() => mergeFeedback({ labelled: 1, correct: 1, confusion: [1, 0, 0, 0] }, { labelled: 1, correct: 1, confusion: [1, 0, 0, 0, 0, 0, 0, 0, 0] }), /confusion matrices of 4 and 9 cells/);
});

test('a manifest task names one of the outputs, with a column per class or one column for two classes', () => {
  const base = {
    schema: 'edgefleet.manifest/v1', name: 'm', version: '1.0.0', created: '2026-01-01T00:00:00Z', entrypoint: 'm.onnx',
    files: [{ path: 'm.onnx', sha256: 'a'.repeat(64), size: 1 }], runtime: { opset: 17, minAgentVersion: '0.1.0' },
    io: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 3] }] },
    provenance: { data: [], training: { code: 't' }, metrics: {}, reason: 'r' },
  };
  const parse = (task: unknown) => Manifest.safeParse({ ...base, task });
  assert.ok(parse({ kind: 'classification', output: 'p', classes: ['a', 'b', 'c'] }).success);
  assert.deepEqual(parse({ kind: 'classification', output: 'p', classes: ['a', 'b', 'c'] }).data?.task, { kind: 'classification', output: 'p', classes: ['a', 'b', 'c'], scores: 'probability' });
  assert.ok(parse({ kind: 'regression', output: 'p', index: 2 }).success);
  assert.match(JSON.stringify(parse({ kind: 'classification', output: 'q', classes: ['a', 'b'] }).error?.issues), /expected one of the io outputs, got \\"q\\"/);
  assert.match(JSON.stringify(parse({ kind: 'classification', output: 'p', classes: ['a', 'b'] }).error?.issues), /output \\"p\\" has 3 columns: expected one per class \(2\)/);
  assert.equal(parse({ kind: 'classification', output: 'p', classes: Array.from({ length: 65 }, (_, i) => `c${i}`) }).success, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWire } from '../wire/common.js';
import { SummaryWindow } from '../wire/telemetry.js';
import { addToHistogram } from './histogram.js';
import { addLatency } from './latency.js';
import { addMoment } from './moments.js';
import { alignWindowStart, emptyWindow, mergeWindows, windowTotals, type WindowLayout } from './window.js';

const LAYOUT: WindowLayout = {
  features: [{ name: 'temp', kind: 'numeric', bins: 2 }, { name: 'mode', kind: 'categorical' }],
  outputs: [{ name: 'score', index: 0, bins: 2 }],
  inputs: ['x'],
};
const META = { model: 'vib', version: '1.0.0', referenceId: 'a'.repeat(64), start: '2026-03-01T10:00:00Z', lengthSec: 60 };

function windowWith(start: string, temps: number[], errors: Record<string, number> = {}) {
  const w = emptyWindow({ ...META, start }, LAYOUT);
  for (const t of temps) {
    w.count++;
    addLatency(w.latency, 2);
    const f = w.features[0];
    if (f?.kind !== 'numeric' || !f.hist) throw new Error('layout');
    addToHistogram(f.hist, [0, 10, 20], t);
    addMoment(f.moments, t);
  }
  w.errors = errors;
  return w;
}

test('alignWindowStart aligns to UTC multiples of the length', () => {
  const t = Date.parse('2026-03-01T10:07:31.250Z');
  assert.equal(new Date(alignWindowStart(t, 60)).toISOString(), '2026-03-01T10:07:00.000Z');
  assert.equal(new Date(alignWindowStart(t, 3600)).toISOString(), '2026-03-01T10:00:00.000Z');
  assert.equal(new Date(alignWindowStart(t, 86400)).toISOString(), '2026-03-01T00:00:00.000Z');
  assert.equal(alignWindowStart(Date.parse('2026-03-01T10:07:00Z'), 60), Date.parse('2026-03-01T10:07:00Z'));
  for (const len of [0, -60, 1.5]) assert.throws(() => alignWindowStart(t, len), /expected a positive integer/);
  assert.throws(() => alignWindowStart(Number.NaN, 60), /expected ms since the epoch/);
});

test('emptyWindow is a valid wire SummaryWindow with the layout, aligned start', () => {
  const w = emptyWindow({ ...META, start: '2026-03-01T10:00:42Z' }, LAYOUT);
  assert.deepEqual(parseWire(SummaryWindow, w, 'summary window'), w);
  assert.equal(w.start, '2026-03-01T10:00:00.000Z');
  assert.deepEqual(w.features.map((f) => [f.name, f.kind]), [['temp', 'numeric'], ['mode', 'categorical']]);
  assert.throws(() => emptyWindow({ ...META, start: 'yesterday' }), /invalid window start "yesterday": expected an ISO time/);
});

test('mergeWindows: start is the earliest, length covers both, counts add', () => {
  const a = windowWith('2026-03-01T10:00:00Z', [1, 15], { INFERENCE_FAILED: 1 });
  const b = windowWith('2026-03-01T10:05:00Z', [25], { INFERENCE_FAILED: 2, TIMEOUT: 1 });
  const m = mergeWindows(b, a);
  assert.equal(m.start, '2026-03-01T10:00:00.000Z');
  assert.equal(m.lengthSec, 360);
  assert.equal(m.count, 3);
  assert.deepEqual(m.errors, { INFERENCE_FAILED: 3, TIMEOUT: 1 });
  const temp = m.features[0];
  assert.ok(temp?.kind === 'numeric');
  assert.deepEqual(temp.hist, { counts: [1, 1], under: 0, over: 1 });
  assert.equal(temp.moments.n, 3);
  assert.ok(Math.abs(temp.moments.mean - 41 / 3) < 1e-12, `mean ${temp.moments.mean}`);
  assert.deepEqual(parseWire(SummaryWindow, m, 'merged window'), m);
  // The merge owns its data: recording into an input afterwards does not change it.
  const only = mergeWindows(a, emptyWindow(META));
  const f = a.features[0];
  assert.ok(f?.kind === 'numeric' && f.hist);
  addToHistogram(f.hist, [0, 10, 20], 5);
  assert.deepEqual((only.features[0] as { hist: unknown }).hist, { counts: [1, 1], under: 0, over: 0 });
});

test('mergeWindows unions features by name and keeps first-seen order', () => {
  const a = emptyWindow(META, { features: [{ name: 'b', kind: 'numeric' }] });
  const b = emptyWindow(META, { features: [{ name: 'a', kind: 'numeric' }, { name: 'b', kind: 'numeric' }] });
  assert.deepEqual(mergeWindows(a, b).features.map((f) => f.name), ['b', 'a']);
  assert.deepEqual(mergeWindows(emptyWindow(META), b).features.map((f) => f.name), ['a', 'b']);
});

test('mergeWindows refuses windows that are not of one model version and reference', () => {
  const a = emptyWindow(META);
  assert.throws(() => mergeWindows(a, emptyWindow({ ...META, model: 'other' })), { code: 'INVALID_INPUT', message: /different model: "vib" vs "other"/ });
  assert.throws(() => mergeWindows(a, emptyWindow({ ...META, version: '1.0.1' })), /different version: "1.0.0" vs "1.0.1"/);
  assert.throws(() => mergeWindows(a, emptyWindow({ ...META, referenceId: undefined })), /different referenceId/);
});

test('mergeWindows refuses features that disagree in kind, bins or histogram', () => {
  const num = emptyWindow(META, { features: [{ name: 'f', kind: 'numeric', bins: 2 }] });
  const cat = emptyWindow(META, { features: [{ name: 'f', kind: 'categorical' }] });
  const bins3 = emptyWindow(META, { features: [{ name: 'f', kind: 'numeric', bins: 3 }] });
  const noHist = emptyWindow(META, { features: [{ name: 'f', kind: 'numeric' }] });
  assert.throws(() => mergeWindows(num, cat), /feature "f": it is numeric on one side and categorical on the other/);
  assert.throws(() => mergeWindows(num, bins3), /2 and 3 bins/);
  assert.throws(() => mergeWindows(num, noHist), /feature "f": one side has a histogram and the other has none/);
  const twice = emptyWindow(META, { features: [{ name: 'f', kind: 'numeric' }, { name: 'f', kind: 'numeric' }] });
  assert.throws(() => mergeWindows(twice, noHist), /feature "f" twice/);
  const o0 = emptyWindow(META, { outputs: [{ name: 's', index: 0 }] });
  const o1 = emptyWindow(META, { outputs: [{ name: 's', index: 1 }] });
  assert.throws(() => mergeWindows(o0, o1), /output "s": index 0 vs 1/);
});

test('windowTotals sums integer counts over windows', () => {
  const ws = [windowWith('2026-03-01T10:00:00Z', [1, 15], { TIMEOUT: 1 }), windowWith('2026-03-01T10:01:00Z', [25, -3])];
  const t = windowTotals(ws);
  assert.deepEqual(t, {
    count: 4,
    errors: { TIMEOUT: 1 },
    latencyCount: 4,
    features: {
      temp: { kind: 'numeric', counts: [1, 1], under: 1, over: 1, n: 4, nulls: 0, nans: 0 },
      mode: { kind: 'categorical', counts: {}, other: 0, nulls: 0 },
    },
    outputs: { score: { counts: [0, 0], under: 0, over: 0, n: 0 } },
    inputs: { x: { n: 0, nans: 0 } },
  });
  assert.deepEqual(windowTotals([]).count, 0);
});

test('windowTotals adds categories and error codes into its own sums: the windows it read are unchanged, a code outside ErrorCode is OTHER', () => {
  const ws = [windowWith('2026-03-01T10:00:00Z', [1], { TIMEOUT: 1, MADE_UP: 2 }), windowWith('2026-03-01T10:01:00Z', [2], { TIMEOUT: 3 }), windowWith('2026-03-01T10:02:00Z', [3])];
  ws.forEach((w, i) => {
    const mode = w.features[1];
    if (mode?.kind === 'categorical') mode.cat = { counts: { idle: 1, [`v${i}`]: 2 }, other: 1 };
  });
  const before = structuredClone(ws);
  const t = windowTotals(ws);
  assert.deepEqual(ws, before, 'the windows read are not changed');
  assert.deepEqual(t.errors, { TIMEOUT: 4, OTHER: 2 });
  assert.deepEqual(t.features['mode'], { kind: 'categorical', counts: { idle: 3, v0: 2, v1: 2, v2: 2 }, other: 3, nulls: 0 });
});

test('mergeWindows sums shadow summaries per candidate version and keeps windows without any unchanged', () => {
  const lat = (n: number) => {
    const l = { counts: new Array<number>(emptyWindow(META).latency.counts.length).fill(0), sumMs: 0 };
    for (let i = 0; i < n; i++) addLatency(l, 3);
    return l;
  };
  const s = (version: string, runs: number, agree: number) => ({ version, sampled: runs + 1, dropped: 1, runs, agree, errors: 1, latency: lat(runs) });
  const a = { ...windowWith('2026-03-01T10:00:00Z', [1]), shadow: [s('2.0.0', 3, 2)] };
  const b = { ...windowWith('2026-03-01T10:01:00Z', [1]), shadow: [s('2.0.0', 4, 4), s('3.0.0', 2, 0)] };
  const m = mergeWindows(a, b);
  assert.deepEqual(m.shadow?.map((x) => [x.version, x.sampled, x.dropped, x.runs, x.agree, x.errors, x.latency.sumMs]), [['2.0.0', 9, 2, 7, 6, 2, 21], ['3.0.0', 3, 1, 2, 0, 1, 6]]);
  assert.equal(parseWire(SummaryWindow, m, 'window').shadow?.length, 2);
  assert.deepEqual(a.shadow[0]?.runs, 3, 'inputs unchanged');
  assert.equal(mergeWindows(windowWith('2026-03-01T10:00:00Z', [1]), windowWith('2026-03-01T10:01:00Z', [2])).shadow, undefined);
});

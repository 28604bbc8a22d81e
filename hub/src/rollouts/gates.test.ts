// Gates (pure): too few reports are pending (never pass); model failures only count against the model;
// output shift against control or the reference; input drift never blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GateConfig, emptyLatency, addLatency, type Reference } from '@edgefleet/shared';
import { addWindow, emptyStats, type GroupStats } from './gate-data.js';
import { evaluateGates, waveVerdict } from './gates.js';

const cfg = GateConfig.parse({ minPredictions: 100 });

function stats(devices: number, count: number, o: { model?: number; input?: number; ms?: number; out?: number[]; feat?: number[] } = {}): GroupStats {
  const s = emptyStats();
  for (let d = 0; d < devices; d++) {
    const latency = emptyLatency();
    for (let i = 0; i < count; i++) addLatency(latency, o.ms ?? 5);
    addWindow(s, `d${d}`, {
      count, errors: { ...(o.model ? { INFERENCE_FAILED: o.model } : {}), ...(o.input ? { INVALID_INPUT: o.input } : {}) }, latency,
      outputs: [{ name: 'p', index: 0, hist: { counts: o.out ?? [count / 2, count / 2], under: 0, over: 0 }, moments: { n: count, mean: 0, m2: 0, min: 0, max: 1 } }],
      features: [{ kind: 'numeric', name: 'f', hist: { counts: o.feat ?? [count / 2, count / 2], under: 0, over: 0 }, moments: { n: count, mean: 0, m2: 0, min: 0, max: 1 }, nulls: 0, nans: 0 }],
    });
  }
  return s;
}
const install = { notified: 4, active: 4, failed: 0 };
const byName = (g: ReturnType<typeof evaluateGates>) => Object.fromEntries(g.map((x) => [x.name, x]));

test('too few predictions: pending, never pass', () => {
  const g = evaluateGates({ cfg, install, wave: stats(4, 10), control: stats(10, 100), reference: undefined, preflightP95: [] });
  assert.equal(byName(g)['predictions']?.verdict, 'pending');
  assert.equal(byName(g)['model_error_rate']?.verdict, 'pending');
  assert.equal(waveVerdict(g), 'pending');
});

test('a wave whose requests are mostly refused as invalid input stays pending on predictions, and that gate says why', () => {
  const wave = emptyStats();
  const latency = emptyLatency();
  for (let i = 0; i < 40; i++) addLatency(latency, 1);
  for (let d = 0; d < 2; d++) addWindow(wave, `d${d}`, { count: 0, errors: { INVALID_INPUT: 40 }, latency, errorLatency: latency, outputs: [], features: [] });
  const g = byName(evaluateGates({ cfg, install, wave, control: stats(10, 100), reference: undefined, preflightP95: [] }));
  assert.deepEqual([g['predictions']?.value, g['predictions']?.verdict], [0, 'pending']);
  assert.equal(g['predictions']?.note, '80 of the wave\'s 80 requests were refused as invalid input, which answers no prediction: do its callers send what this version\'s manifest expects?');
  assert.equal(g['model_error_rate']?.value, 0, 'not held against the version');
  // A few refused among many answered: no note.
  assert.equal(byName(evaluateGates({ cfg, install, wave: stats(4, 10, { input: 2 }), control: stats(10, 100), reference: undefined, preflightP95: [] }))['predictions']?.note, undefined);
});

test('invalid input does not count against the model; model failures above control + 1 point fail', () => {
  const ok = evaluateGates({ cfg, install, wave: stats(4, 100, { input: 30 }), control: stats(10, 100), reference: undefined, preflightP95: [] });
  assert.equal(byName(ok)['model_error_rate']?.value, 0);
  assert.equal(waveVerdict(ok), 'pass');
  const bad = evaluateGates({ cfg, install, wave: stats(4, 100, { model: 3 }), control: stats(10, 100, { model: 1 }), reference: undefined, preflightP95: [] });
  assert.deepEqual([byName(bad)['model_error_rate']?.value, byName(bad)['model_error_rate']?.threshold, waveVerdict(bad)], [3, 2, 'fail']);
});

test('latency p95 against 1.2x control; output shift against control, else the reference; input drift shown only', () => {
  const slow = evaluateGates({ cfg, install, wave: stats(4, 100, { ms: 20 }), control: stats(10, 100, { ms: 5 }), reference: undefined, preflightP95: [] });
  assert.equal(byName(slow)['latency_p95']?.verdict, 'fail');
  // At a millisecond one log bucket (~19 %) is noise: control + latencySlackMs (1 ms) holds; without the slack it fails.
  const noisy = { install, wave: stats(4, 100, { ms: 1.6 }), control: stats(10, 100, { ms: 1 }), reference: undefined, preflightP95: [] };
  assert.equal(byName(evaluateGates({ cfg, ...noisy }))['latency_p95']?.verdict, 'pass');
  assert.equal(byName(evaluateGates({ cfg: GateConfig.parse({ minPredictions: 100, latencySlackMs: 0 }), ...noisy }))['latency_p95']?.verdict, 'fail');
  const shifted = evaluateGates({ cfg, install, wave: stats(4, 100, { out: [90, 10], feat: [95, 5] }), control: stats(10, 100), reference: undefined, preflightP95: [] });
  assert.equal(byName(shifted)['output_shift']?.verdict, 'fail');
  const reference = { id: 'a'.repeat(64), rows: 100, outputs: [{ name: 'p', index: 0, edges: [0, 0.5, 1], counts: [50, 50], under: 0, over: 0 }], features: [{ kind: 'numeric', name: 'f', edges: [0, 0.5, 1], counts: [50, 50], under: 0, over: 0, moments: { n: 100, mean: 0, m2: 0, min: 0, max: 1 } }] } as Reference;
  const first = evaluateGates({ cfg, install, wave: stats(4, 100, { feat: [95, 5] }), control: emptyStats(), reference, preflightP95: [] });
  assert.equal(byName(first)['output_shift']?.against, 'reference');
  assert.equal(byName(first)['output_shift']?.verdict, 'pass');
  assert.deepEqual([byName(first)['input_drift']?.verdict, byName(first)['input_drift']?.blocking], ['fail', false]);
  assert.equal(waveVerdict(first), 'pass', 'input drift explains, it does not block');
});

test('latency p95 over the threshold while the wave answered more requests a window than the control: held, not failed (decision 0098)', () => {
  const g = (wave: GroupStats) => byName(evaluateGates({ cfg, install, wave, control: stats(10, 100), reference: undefined, preflightP95: [] }))['latency_p95']!;
  // Twice the requests a window, slower from queueing: pending (a wave pending past stuckSec pauses), with why.
  const busy = g(stats(4, 200, { ms: 8 }));
  assert.deepEqual([busy.verdict, busy.blocking, busy.against], ['pending', true, 'control']);
  assert.match(busy.note ?? '', /^not compared at a matched load: the wave's devices answered 200 requests a window against the control's 100 \(2x, more than 1.25x\)/);
  // Busier but within the threshold: a pass needs no excuse. Twice as slow at the control's load, or
  // quieter (closed-loop callers of a slow version send fewer), or within LOAD_MATCH_RATIO: it fails.
  assert.deepEqual([g(stats(4, 200, { ms: 5 })).verdict, g(stats(4, 200, { ms: 5 })).note], ['pass', undefined]);
  for (const [count, ms] of [[100, 10], [50, 10], [125, 10]] as const) assert.equal(g(stats(4, count, { ms })).verdict, 'fail', `${count} a window at ${ms} ms`);
  assert.equal(g(stats(4, 126, { ms: 10 })).verdict, 'pending', 'past LOAD_MATCH_RATIO');
});

test('minPredictions 0: a control without predictions is no control (a threshold, never NaN)', () => {
  const zero = GateConfig.parse({ minPredictions: 0 });
  const g = byName(evaluateGates({ cfg: zero, install, wave: stats(4, 100), control: emptyStats(), reference: undefined, preflightP95: [] }));
  assert.deepEqual([g['model_error_rate']?.threshold, g['model_error_rate']?.against, g['model_error_rate']?.verdict], [1, 'absolute', 'pass']);
  assert.deepEqual([g['latency_p95']?.blocking, g['output_shift']?.against], [false, 'reference']);
  const bad = byName(evaluateGates({ cfg: zero, install, wave: stats(4, 100, { model: 3 }), control: emptyStats(), reference: undefined, preflightP95: [] }));
  assert.deepEqual([bad['model_error_rate']?.threshold, bad['model_error_rate']?.verdict], [1, 'fail']);
  const judged = byName(evaluateGates({ cfg: zero, install, wave: stats(4, 100), control: stats(10, 100, { model: 1 }), reference: undefined, preflightP95: [] }));
  assert.deepEqual([judged['model_error_rate']?.threshold, judged['model_error_rate']?.against], [2, 'control']);
});

test('install success fails as soon as the failures make the threshold unreachable', () => {
  const g = evaluateGates({ cfg, install: { notified: 20, active: 5, failed: 2 }, wave: stats(4, 100), control: stats(10, 100), reference: undefined, preflightP95: [] });
  assert.equal(byName(g)['install_success']?.verdict, 'fail');
});

test('control devices connected but short of predictions: the comparative gates wait for them', () => {
  const g = evaluateGates({ cfg, install, wave: stats(4, 100, { out: [90, 10] }), control: stats(2, 20), reference: undefined, preflightP95: [], awaitingControl: true });
  for (const name of ['model_error_rate', 'latency_p95', 'output_shift']) {
    assert.equal(byName(g)[name]?.verdict, 'pending', name);
    assert.equal(byName(g)[name]?.against, 'control', name);
    assert.match(byName(g)[name]?.note ?? '', /waiting for the control devices: 40 of 100/);
  }
  assert.equal(waveVerdict(g), 'pending');
  // Latency shows the threshold the control's answers so far give (the same latencies, judged: the same
  // threshold); before the control answered anything, 0.
  const judged = evaluateGates({ cfg, install, wave: stats(4, 100), control: stats(10, 100), reference: undefined, preflightP95: [] });
  assert.ok((byName(g)['latency_p95']?.threshold ?? 0) > 0);
  assert.equal(byName(g)['latency_p95']?.threshold, byName(judged)['latency_p95']?.threshold);
  const none = evaluateGates({ cfg, install, wave: stats(4, 100), control: emptyStats(), reference: undefined, preflightP95: [], awaitingControl: true });
  assert.deepEqual([byName(none)['latency_p95']?.threshold, byName(none)['latency_p95']?.verdict], [0, 'pending']);
  // The same numbers without connected control devices judge against the reference-free absolute gates.
  const alone = evaluateGates({ cfg, install, wave: stats(4, 100, { out: [90, 10] }), control: stats(2, 20), reference: undefined, preflightP95: [] });
  assert.equal(byName(alone)['model_error_rate']?.against, 'absolute');
  assert.equal(waveVerdict(alone), 'pass');
  // With no control, latency has nothing to be judged against: shown, not blocking, its threshold meaningless.
  assert.deepEqual([byName(alone)['latency_p95']?.blocking, byName(alone)['latency_p95']?.note], [false, 'no control devices: shown, not judged']);
});

test('install_success: a device waiting for disk space is pending, not failed, and the note counts it (decision 0064)', () => {
  const wave = stats(4, 100);
  const control = stats(10, 100);
  const gate = (i: Parameters<typeof evaluateGates>[0]['install']) => byName(evaluateGates({ cfg, install: i, wave, control, reference: undefined, preflightP95: [] }))['install_success']!;
  // Counted failed, one box of four makes 0.95 unreachable: the wave fails (and rolls back a good model).
  assert.equal(gate({ notified: 4, active: 3, failed: 1 }).verdict, 'fail');
  const waiting = gate({ notified: 4, active: 3, failed: 0, waitingForDisk: 1 });
  assert.deepEqual([waiting.verdict, waiting.value, waiting.samples.wave], ['pending', 0.75, 4]);
  assert.equal(waiting.note, '1 waiting for disk space on the device (not failed): pending until installed; a wave pending for gates.stuckSec (3600 s) pauses');
  assert.equal(gate({ notified: 4, active: 4, failed: 0, waitingForDisk: 0 }).verdict, 'pass', 'installed once it had room');
  // Waiting devices do not hide real failures: with two failed of four the threshold is out of reach.
  assert.equal(gate({ notified: 4, active: 1, failed: 2, waitingForDisk: 1 }).verdict, 'fail');
  const both = gate({ notified: 6, active: 3, failed: 0, deferred: 1, waitingForDisk: 2 });
  assert.match(both.note ?? '', /^1 deferred .*; 2 waiting for disk space on the device \(not failed\)/);
});

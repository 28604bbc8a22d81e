import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateCondition, gateValue, gateVerdict } from './gate-text.js';
import type { GateResult } from './wire/rollout-state.js';

const gate = (o: Partial<GateResult> & Pick<GateResult, 'name'>): GateResult =>
  ({ value: 1, threshold: 0.95, verdict: 'pending', blocking: true, samples: { wave: 0, control: 0 }, against: 'absolute', ...o });

test('a gate says what its value must do to pass, the way up or down its name says', () => {
  for (const name of ['install_success', 'config_applied', 'reporting', 'predictions', 'shadow_agreement', 'replay_agreement'] as const) {
    assert.equal(gateCondition(gate({ name })), '>= 0.95', name);
  }
  for (const name of ['model_error_rate', 'output_shift', 'restarts', 'input_drift'] as const) {
    assert.equal(gateCondition(gate({ name, threshold: 0.2 })), '<= 0.2', name);
  }
  assert.equal(gateCondition(gate({ name: 'preflight_p95', threshold: 250 })), '<= 250 ms', 'the latency gates say their unit');
  assert.equal(gateValue(gate({ name: 'latency_p95', value: 1.522 })), '1.522 ms');
  assert.equal(gateValue(gate({ name: 'output_shift', value: 0.31 })), '0.31');
  assert.equal(gateValue(gate({ name: 'latency_p95', value: null })), '-');
  assert.equal(gateCondition(gate({ name: 'output_shift', threshold: 0.2 }), (v) => v.toFixed(3), { atLeast: '≥', atMost: '≤' }), '≤ 0.200');
});

test('a gate shown only is not judged; a latency gate waiting for its control has no threshold yet', () => {
  assert.equal(gateCondition(gate({ name: 'latency_p95', threshold: 0, blocking: false, note: 'no control devices: shown, not judged' })), 'not judged');
  assert.equal(gateCondition(gate({ name: 'latency_p95', threshold: 0, against: 'control', note: 'waiting for the control devices: 0 of 100 predictions' })), '<= control p95, none yet');
  assert.equal(gateCondition(gate({ name: 'latency_p95', threshold: 12.5, against: 'control' })), '<= 12.5 ms', 'once the control answered');
  assert.equal(gateCondition(gate({ name: 'model_error_rate', threshold: 0, against: 'control' })), '<= 0', 'only latency waits for a threshold');
});

test('a gate shown only says not judged as its verdict too; a judged one its own verdict', () => {
  assert.equal(gateVerdict(gate({ name: 'preflight_p95', threshold: 0, verdict: 'pass', blocking: false, note: 'no threshold set (gates.preflightP95Ms)' })), 'not judged');
  assert.equal(gateVerdict(gate({ name: 'input_drift', threshold: 0.2, verdict: 'fail', blocking: false })), 'over', 'input_drift over its threshold never blocks: not "fail"');
  assert.equal(gateVerdict(gate({ name: 'input_drift', threshold: 0.2, verdict: 'pass', blocking: false })), 'pass');
  assert.equal(gateVerdict(gate({ name: 'output_shift', verdict: 'pass', note: 'no output histograms to compare' })), 'pass', 'a blocking gate with a note is judged');
});

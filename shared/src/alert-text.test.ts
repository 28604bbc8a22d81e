import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertCondition, alertValueText } from './alert-text.js';

test('an alert rule says which way it is breached, with the unit of its metric', () => {
  assert.equal(alertCondition('disk_free', 0.1), '< 0.1 (10%)');
  assert.equal(alertCondition('accuracy', 0.9), '< 0.9 (90%)');
  assert.equal(alertCondition('model_error_rate', 0.05), '≥ 0.05 (5%)');
  assert.equal(alertCondition('latency_p95', 250), '≥ 250 ms');
  assert.equal(alertCondition('drift.psi', 0.2), '≥ 0.2');
  assert.equal(alertCondition('devices_offline', 1), '≥ 1 device');
  assert.equal(alertCondition('schedule', 0), 'on its schedule (no value)');
});

test('an alert value keeps 3 decimals (1 from 10 up) and its unit', () => {
  assert.equal(alertValueText('drift.psi', 0.312345), '0.312');
  assert.equal(alertValueText('latency_p95', 123.456), '123.5 ms');
  assert.equal(alertValueText('invalid_input_rate', 0.0723), '0.072 (7.23%)');
  assert.equal(alertValueText('devices_offline', 3), '3 devices');
});

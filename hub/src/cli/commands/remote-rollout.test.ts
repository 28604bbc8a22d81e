// What `edgefleet rollout promote|pause|resume|abort|rollback` print (docs/rollouts.md "Operator actions").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type Rollout } from '@edgefleet/shared';
import { namingWaves, policyFrom } from './remote-rollout.js';
import { actionLine } from './remote-rollout-actions.js';

const rollout = (state: Rollout['state'], stateReason: string | null) => ({
  id: 'ro-1a2b3c4d5e', state, stateReason, currentWave: 0, waves: [{ name: 'canary', state: 'baking' }],
}) as unknown as Rollout;

test('an action says the state it left; a rollout that answered otherwise (judged at once) says why', () => {
  assert.equal(actionLine('resume', rollout('running', null)), 'rollout ro-1a2b3c4d5e: running, wave canary baking\n');
  assert.equal(actionLine('pause', rollout('paused', 'look at the canary')), 'rollout ro-1a2b3c4d5e: paused\n');
  // A failed wave resumed is judged again and pauses again: the line gives the hub's reason.
  assert.equal(actionLine('resume', rollout('paused', 'wave canary failed its gates: output_shift 10.75 (threshold 0.2)')),
    'rollout ro-1a2b3c4d5e: paused (wave canary failed its gates: output_shift 10.75 (threshold 0.2))\n');
  assert.equal(actionLine('promote', rollout('rolled_back', 'wave canary failed its gates: install_success 0.5 (threshold 0.95)')),
    'rollout ro-1a2b3c4d5e: rolled_back (wave canary failed its gates: install_success 0.5 (threshold 0.95))\n');
  assert.equal(actionLine('rollback', rollout('rolled_back', 'undo'), 'undo'), 'rollout ro-1a2b3c4d5e: rolled_back\n');
  // A rollback that left devices on the version (they ran none before) says so in its reason.
  assert.equal(actionLine('rollback', rollout('rolled_back', 'undo; 1 device(s) that ran no version of m before keep 2.0.0: …'), 'undo'),
    'rollout ro-1a2b3c4d5e: rolled_back (undo; 1 device(s) that ran no version of m before keep 2.0.0: …)\n');
});

test('a mistyped --gate or --shadow key or --on-failure names the one likely meant', () => {
  const policy = (values: Record<string, string | string[]>) => () => policyFrom({ values, positionals: [] });
  assert.throws(policy({ gate: ['minPrediction=300'] }), /^UsageError: --gate minPrediction=300: unknown key "minPrediction": expected one of installSuccess, .*; did you mean "minPredictions"\?$/);
  assert.throws(policy({ gate: ['outputPSI=0.5'] }), /did you mean "outputPsi"\?$/);
  assert.throws(policy({ gate: ['zzz=1'] }), /unknown key "zzz": expected one of [^;]*$/, 'nothing near: no guess');
  assert.throws(policy({ 'on-failure': 'pasue' }), /^UsageError: --on-failure: expected one of rollback, pause, got "pasue"; did you mean "pause"\?$/);
  assert.equal(policyFrom({ values: { 'on-failure': 'pause', gate: ['minPredictions=300'] }, positionals: [] }).onFailure, 'pause');
});

test('a hub refusal naming waves[k] says which --wave that was', () => {
  const err = namingWaves(new AppError('SCHEMA_INVALID', 'hub: invalid rollout request: waves[1].percent: expected a cumulative percent above the previous wave\'s 100; waves[1].percent: expected the last wave to reach 100 percent'), ['all:100%', 'canary:10%']);
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'SCHEMA_INVALID');
  assert.match(err.message, /reach 100 percent \(waves\[1\] is --wave canary:10%\)$/);
  const two = namingWaves(new AppError('BAD_REQUEST', 'hub: waves[0].tags: x; waves[2].percent: y'), ['s:tag=env=s', 'c:5%', 'all:100%']) as AppError;
  assert.match(two.message, /\(waves\[0\] is --wave s:tag=env=s, waves\[2\] is --wave all:100%\)$/);
  const plain = new AppError('CONFLICT', 'hub: rollout ro-1 is active');
  assert.equal(namingWaves(plain, ['all:100%']), plain, 'nothing to name: unchanged');
  const defaults = new AppError('BAD_REQUEST', 'hub: waves[0].percent: none');
  assert.equal(namingWaves(defaults, []), defaults, 'no --wave given (the default waves): unchanged');
});

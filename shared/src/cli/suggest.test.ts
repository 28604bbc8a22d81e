// The "did you mean" of a bad command line: the nearest known word, or none when it is not clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, editDistance } from './suggest.js';

test('editDistance counts insertions, deletions, substitutions and a swap of neighbours as one each', () => {
  assert.equal(editDistance('rollout', 'rollout'), 0);
  assert.equal(editDistance('rolout', 'rollout'), 1);
  assert.equal(editDistance('rollotu', 'rollout'), 1);
  assert.equal(editDistance('rollaut', 'rollout'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest: a typo within a third of the word, the one word it begins, none when unclear', () => {
  const commands = ['model', 'rollout', 'deploy', 'devices', 'drift', 'keys', 'trust'];
  assert.equal(closest('modle', commands), 'model');
  assert.equal(closest('rolout', commands), 'rollout');
  assert.equal(closest('dep', commands), 'deploy', 'the only command starting dep');
  assert.equal(closest('d', commands), undefined, 'one letter starts three commands and is near none');
  assert.equal(closest('banana', commands), undefined);
  assert.equal(closest('trsut', commands), 'trust');
  // Equally near two: no guess.
  assert.equal(closest('al', ['all', 'alt']), undefined);
  // A pasted blob is not compared at all, even one that begins a known word.
  assert.equal(closest(`model${'x'.repeat(60)}`, [`model${'x'.repeat(61)}`]), undefined);
  assert.equal(closest(`model${'x'.repeat(58)}`, [`model${'x'.repeat(59)}`]), `model${'x'.repeat(59)}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, sha256Hex } from '../canonical.js';
import { checkModelIo, ortTypeToDatatype, referenceId, withReferenceId } from './model.js';

const io = {
  inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }, { name: 'sr', datatype: 'INT64' as const, shape: [] }],
  outputs: [{ name: 'p', datatype: 'FP32' as const, shape: [-1, 1] }],
};

test('checkModelIo: agreeing io gives no messages; extra outputs are allowed', () => {
  assert.deepEqual(checkModelIo({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 4] }, { name: 'sr', datatype: 'INT64', rank: 0 }],
    outputs: [{ name: 'p', datatype: 'FP32', rank: 2 }, { name: 'logits', datatype: 'FP32' }],
  }, io), []);
});

test('checkModelIo names each mismatching tensor with expected and actual', () => {
  const msgs = checkModelIo({
    inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, 5] }, { name: 'extra', datatype: 'FP32', rank: 1 }],
    outputs: [{ name: 'p', datatype: 'FP32', rank: 1 }],
  }, io);
  assert.deepEqual(msgs, [
    'input "x": expected datatype FP32, the model has FP64',
    'input "x": dimension 1 expected 4, the model has 5',
    'input "sr": declared in the manifest but the model has no such input (model inputs: x, extra)',
    'input "extra": the model requires it but the manifest io does not declare it',
    'output "p": expected rank 2 (shape [-1, 1]), the model has rank 1',
  ]);
});

test('checkModelIo: an input dimension free in the manifest but fixed in the model is named; on an output it is allowed', () => {
  assert.deepEqual(checkModelIo({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }, { name: 'sr', datatype: 'INT64', rank: 0 }],
    outputs: [{ name: 'p', datatype: 'FP32', shape: [1, 1] }],
  }, io), ['input "x": dimension 0 is free (-1) in the manifest but the model fixes it at 1: expected 1']);
  // An agent loading a bundle signed before pack checked this lets a batch fixed at 1 pass, not another size.
  const fixed = (n: number) => checkModelIo({ inputs: [{ name: 'x', datatype: 'FP32', shape: [n, 4] }, { name: 'sr', datatype: 'INT64', rank: 0 }], outputs: [{ name: 'p', datatype: 'FP32', rank: 2 }] }, io, { allowFreeOverOne: true });
  assert.deepEqual(fixed(1), []);
  assert.deepEqual(fixed(8), ['input "x": dimension 0 is free (-1) in the manifest but the model fixes it at 8: expected 8']);
});

test('ORT type names map to OIP datatypes', () => {
  assert.equal(ortTypeToDatatype('float32'), 'FP32');
  assert.equal(ortTypeToDatatype('tensor(int64)'), 'INT64');
  assert.equal(ortTypeToDatatype('complex64'), undefined);
});

test('referenceId hashes the canonical reference without id, defaults applied', () => {
  const ref = { rows: 3, features: [{ kind: 'categorical' as const, name: 'm', counts: { a: 2, b: 1 }, other: 0 }] };
  const id = referenceId(ref);
  assert.equal(id, sha256Hex(canonicalJson({ rows: 3, features: [{ kind: 'categorical', name: 'm', counts: { a: 2, b: 1 }, other: 0 }], outputs: [] })));
  assert.equal(referenceId({ ...ref, id: 'f'.repeat(64) }), id);
  assert.equal(withReferenceId(ref).id, id);
  assert.notEqual(referenceId({ ...ref, rows: 4 }), id);
  assert.throws(() => referenceId({ rows: -1 }), /invalid reference profile: rows/);
  fc.assert(fc.property(fc.nat(1000), fc.nat(1000), (a, b) => {
    const r = { rows: a + b, outputs: [{ name: 'p', edges: [0, 0.5, 1], counts: [a, b] }] };
    assert.equal(referenceId(r), referenceId(JSON.parse(JSON.stringify(withReferenceId(r))) as typeof r));
  }), { seed: 11, numRuns: 50 });
});

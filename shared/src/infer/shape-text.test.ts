// Shapes in error messages are bounded: a request with a shape of thousands of dims gets a one-line
// error naming the first dims and how many there were, not the whole shape echoed back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { validateInferRequest } from './request.js';
import { shapeText } from './shape-text.js';

const io = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 12] }], outputs: [{ name: 'p', datatype: 'FP32' as const, shape: [-1, 1] }] };
const error = (shape: unknown): string => {
  try {
    validateInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape, data: [1] }] }, io, { allowNonFinite: false });
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'INVALID_INPUT');
    return err.message;
  }
  assert.fail('accepted');
};

describe('shapes in messages', () => {
  it('shows a short shape whole', () => {
    assert.equal(shapeText([1, 12]), '[1, 12]');
    assert.equal(shapeText([]), '[]');
    assert.equal(error([1, 11]), 'input "x": shape [1, 11] does not match the model: expected [-1, 12] (-1 is free)');
  });

  it('shows the first 16 dims of a long shape, then how many there are', () => {
    const long = Array.from({ length: 5000 }, () => 1);
    const message = error(long);
    assert.equal(message, `input "x": shape [${Array(16).fill(1).join(', ')}, … (5000 dims)] does not match the model: expected [-1, 12] (-1 is free)`);
    assert.ok(message.length < 200, `${message.length} characters`);
  });

  it('bounds a shape that is not a list of integers too', () => {
    const bad = error([1, 'x'.repeat(10_000), ...Array(5000).fill(2)]);
    assert.ok(bad.length < 400, `${bad.length} characters`);
    assert.match(bad, /^input "x": shape \[1, "x{23}…, 2, .*, … \(5002 dims\)\] is not a list of non-negative integers: expected \[-1, 12\] \(-1 is free\)$/);
    const notList = error('y'.repeat(10_000));
    assert.ok(notList.length < 200, `${notList.length} characters`);
    assert.match(notList, /^input "x": shape "y{23}… is not a list of non-negative integers/);
  });
});

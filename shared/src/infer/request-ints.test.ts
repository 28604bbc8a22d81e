// Integer values in JSON requests: out of range names the value and the range; an INT64 past 2^53,
// which the JSON parser has already rounded, says so and how to send it instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { validateInferRequest } from './request.js';

const io = (datatype: 'INT64' | 'INT8') => ({ inputs: [{ name: 'ids', datatype, shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1] }] });
const error = (datatype: 'INT64' | 'INT8', body: string): string => {
  try {
    validateInferRequest(JSON.parse(body), io(datatype), { allowNonFinite: false });
  } catch (err) {
    assert.ok(err instanceof AppError && err.code === 'INVALID_INPUT', String(err));
    return err.message;
  }
  return assert.fail('expected INVALID_INPUT');
};

test('an INT64 past 2^53 says the parser rounded it and that raw or binary data takes it', () => {
  assert.equal(error('INT64', '{"inputs":[{"name":"ids","datatype":"INT64","shape":[2],"data":[1, 9007199254740993]}]}'),
    'input "ids": data[1] is 9007199254740992 (past 2^53, where JSON and typed gRPC numbers round, so perhaps not the value sent): expected an integer in [-9007199254740991, 9007199254740991] (INT64); larger values go as raw or binary data');
});

test('other out-of-range integers name the value and the range only', () => {
  assert.equal(error('INT8', '{"inputs":[{"name":"ids","datatype":"INT8","shape":[1],"data":[300]}]}'),
    'input "ids": data[0] is 300: expected an integer in [-128, 127] (INT8)');
  assert.equal(error('INT64', '{"inputs":[{"name":"ids","datatype":"INT64","shape":[1],"data":[1.5]}]}'),
    'input "ids": data[0] is 1.5: expected an integer in [-9007199254740991, 9007199254740991] (INT64)');
});

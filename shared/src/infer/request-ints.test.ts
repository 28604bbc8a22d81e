// Integer values in JSON requests: out of range names the value and the range; an INT64 past 2^53,
// which the JSON parser has already rounded, says so and how to send it instead. 64-bit values as
// BigInts (typed gRPC contents past 2^53, agent api/grpc/tensors.ts) are taken over the datatype's
// whole range and refused past it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { validateInferRequest } from './request.js';

type Int = 'INT64' | 'UINT64' | 'INT8';
const io = (datatype: Int) => ({ inputs: [{ name: 'ids', datatype, shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1] }] });
const error = (datatype: Int, body: string | object): string => {
  try {
    validateInferRequest(typeof body === 'string' ? JSON.parse(body) : body, io(datatype), { allowNonFinite: false });
  } catch (err) {
    assert.ok(err instanceof AppError && err.code === 'INVALID_INPUT', String(err));
    return err.message;
  }
  return assert.fail('expected INVALID_INPUT');
};

test('an INT64 past 2^53 says the parser rounded it and that raw or binary data takes it', () => {
  assert.equal(error('INT64', '{"inputs":[{"name":"ids","datatype":"INT64","shape":[2],"data":[1, 9007199254740993]}]}'),
    'input "ids": data[1] is 9007199254740992 (past 2^53, where JSON numbers round, so perhaps not the value sent): expected an integer in [-9007199254740991, 9007199254740991] (INT64); larger values go as raw or binary data');
});

test('other out-of-range integers name the value and the range only', () => {
  assert.equal(error('INT8', '{"inputs":[{"name":"ids","datatype":"INT8","shape":[1],"data":[300]}]}'),
    'input "ids": data[0] is 300: expected an integer in [-128, 127] (INT8)');
  assert.equal(error('INT64', '{"inputs":[{"name":"ids","datatype":"INT64","shape":[1],"data":[1.5]}]}'),
    'input "ids": data[0] is 1.5: expected an integer in [-9007199254740991, 9007199254740991] (INT64)');
});

const bigBody = (datatype: Int, data: Array<number | bigint>) => ({ inputs: [{ name: 'ids', datatype, shape: [data.length], data }] });

test('BigInt INT64 and UINT64 values are exact over the whole 64-bit range', () => {
  const ends = { INT64: [-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n], UINT64: [0n, 2n ** 53n + 1n, 2n ** 64n - 1n] } as const;
  for (const datatype of ['INT64', 'UINT64'] as const) {
    const r = validateInferRequest(bigBody(datatype, [...ends[datatype], 7]), io(datatype), { allowNonFinite: false });
    assert.deepEqual(Array.from(r.inputs[0]!.data as BigInt64Array), [...ends[datatype], 7n]);
    assert.ok(r.inputs[0]!.data instanceof (datatype === 'INT64' ? BigInt64Array : BigUint64Array));
  }
});

test('BigInt values past the 64-bit range, or for a narrower datatype, name the value and the range', () => {
  assert.equal(error('UINT64', bigBody('UINT64', [1, -1n])), 'input "ids": data[1] is -1: expected an integer in [0, 18446744073709551615] (UINT64)');
  assert.equal(error('UINT64', bigBody('UINT64', [2n ** 64n])), 'input "ids": data[0] is 18446744073709551616: expected an integer in [0, 18446744073709551615] (UINT64)');
  assert.equal(error('INT64', bigBody('INT64', [2n ** 63n])), 'input "ids": data[0] is 9223372036854775808: expected an integer in [-9223372036854775808, 9223372036854775807] (INT64)');
  assert.equal(error('INT8', bigBody('INT8', [1n])), 'input "ids": data[0] is the BigInt 1: expected an integer in [-128, 127] (INT8)');
});

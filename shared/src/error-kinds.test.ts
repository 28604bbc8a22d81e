// Error kinds: every code is classified, the kinds follow the HTTP status except for the model's own
// 422s, unknown codes count against the model, and sums/formatting keep the kinds apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, HTTP_STATUS } from './errors.js';
import { ERROR_KIND, errorKind, errorKindCounts, formatErrorKinds } from './error-kinds.js';

test('every error code has a kind that agrees with its HTTP status (the model 422s excepted)', () => {
  const modelAtFault = new Set(['MODEL_LOAD_FAILED', 'MODEL_IO_MISMATCH', 'MODEL_PREFLIGHT_FAILED', 'CONFIG_INVALID']);
  for (const code of Object.values(ErrorCode)) {
    const status = HTTP_STATUS[code];
    const expected = modelAtFault.has(code) ? 'model' : status === 503 || status === 429 ? 'load' : status < 500 ? 'input' : 'model';
    assert.equal(ERROR_KIND[code], expected, `${code} (HTTP ${status})`);
  }
});

test('the observed codes: wrong shape is input, shedding is load, a failed run is the model', () => {
  assert.deepEqual(['INVALID_INPUT', 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'OVERLOADED', 'INFERENCE_FAILED', 'TIMEOUT'].map(errorKind),
    ['input', 'input', 'input', 'load', 'model', 'model']);
  assert.equal(errorKind('SOMETHING_NEWER'), 'model', 'an unknown code is not excused');
  assert.equal(errorKind('__proto__'), 'model');
  assert.equal(errorKind('toString'), 'model');
});

test('errorKindCounts sums codes by kind; formatErrorKinds names them', () => {
  const errors = { INVALID_INPUT: 2, BAD_REQUEST: 1, OVERLOADED: 131, INFERENCE_FAILED: 3, LATER_CODE: 1 };
  assert.deepEqual(errorKindCounts(errors), { input: 3, load: 131, model: 4 });
  assert.deepEqual(errorKindCounts({}), { input: 0, load: 0, model: 0 });
  assert.equal(formatErrorKinds(errors), 'input 3 (BAD_REQUEST=1 INVALID_INPUT=2), load 131 (OVERLOADED=131), model 4 (INFERENCE_FAILED=3 LATER_CODE=1)');
  assert.equal(formatErrorKinds({}), 'input 0, load 0, model 0');
});

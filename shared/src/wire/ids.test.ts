// The one id rule of paths and query strings (ids.ts): what is an id, what is refused and how it is said.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors.js';
import { parseWire } from './common.js';
import { ID_EXPECTED, QueryId, idProblem, parseDecimalId } from './ids.js';
import { z } from 'zod';

test('an id is plain positive decimal digits without a leading zero, at most the bound', () => {
  for (const [raw, n] of [['1', 1], ['12', 12], ['9007199254740991', Number.MAX_SAFE_INTEGER]] as const) assert.equal(parseDecimalId(raw), n);
  for (const raw of ['', '0', '012', '1e3', '0x10', '0b11', '0o7', ' 12', '12 ', '+12', '-1', '1.0', '1_000', 'Infinity', '9007199254740992', '１２']) {
    assert.equal(parseDecimalId(raw), null, JSON.stringify(raw));
  }
  assert.equal(parseDecimalId('2147483648', 2 ** 31), 2 ** 31);
  assert.equal(parseDecimalId('2147483649', 2 ** 31), null);
});

test('a refusal names the thing, the parameter and what was expected, with the bound only when the digits are fine', () => {
  assert.equal(idProblem('12', 'alert', 'path parameter id'), null);
  assert.equal(idProblem('1e3', 'alert', 'path parameter id'), `alert id "1e3" (path parameter id): ${ID_EXPECTED}`);
  assert.equal(idProblem('2147483649', 'capture', 'path parameter id', 2 ** 31), `capture id "2147483649" (path parameter id): ${ID_EXPECTED} of at most 2147483648`);
  assert.equal(idProblem('x'.repeat(50), 'alert', 'query parameter rule'), `alert id "${'x'.repeat(40)}…" (query parameter rule): ${ID_EXPECTED}`);
});

test('QueryId parses a query parameter to its number, or refuses it in parseWire\'s words naming the parameter', () => {
  const Q = z.object({ rule: QueryId('rule', 'alert rule').optional() });
  assert.deepEqual(parseWire(Q, { rule: '42' }, 'alerts query'), { rule: 42 });
  assert.deepEqual(parseWire(Q, {}, 'alerts query'), {});
  for (const raw of ['', '0', '1e3', '012']) {
    assert.throws(() => parseWire(Q, { rule: raw }, 'alerts query'), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'SCHEMA_INVALID');
      assert.equal(e.message, `invalid alerts query: rule: alert rule id "${raw}" (query parameter rule): ${ID_EXPECTED}`);
      return true;
    });
  }
  assert.throws(() => parseWire(Q, { rule: '9007199254740992' }, 'alerts query'), /of at most 9007199254740991$/);
});

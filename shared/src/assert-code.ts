// For tests: an `assert.throws`/`assert.rejects` validator that checks an AppError's code and,
// optionally, its message. Not exported from the package index.
import assert from 'node:assert/strict';
import { AppError } from './errors.js';

export function code(c: string, re?: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, c, e.message);
    if (re) assert.match(e.message, re);
    return true;
  };
}

// For assert.rejects/assert.throws: an AppError (docs/architecture.md, errors crossing a boundary carry a
// stable code) with `code` whose message matches every pattern.
import assert from 'node:assert/strict';
import { AppError } from '@edgefleet/shared';

export function rejectsWith(code: string, ...patterns: RegExp[]): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof AppError, `expected AppError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.js';

test('a token bucket paces to its rate with a fake clock', () => {
  const b = new TokenBucket(100, 10, 0);
  assert.equal(b.tryTake(10, 0), true);
  assert.equal(b.tryTake(1, 0), false);
  assert.equal(b.waitMs(5, 0), 50);
  assert.equal(b.tryTake(5, 50), true);
  b.take(20, 50); // debt
  assert.equal(b.waitMs(1, 50), 210);
  assert.equal(b.tryTake(10, 10_000), true);
  assert.throws(() => new TokenBucket(0, 1, 0), /positive rate/);
});

test('a clock stepped back is no time passing, not a stall until it catches up', () => {
  const b = new TokenBucket(10, 10, 3_600_000);
  assert.equal(b.tryTake(10, 3_600_000), true);
  assert.equal(b.tryTake(1, 3_600_000), false);
  // NTP steps the clock back an hour: a second later the bucket has refilled for that second.
  assert.equal(b.tryTake(1, 0), false, 'the step itself adds nothing');
  assert.equal(b.tryTake(10, 1000), true);
  assert.equal(b.waitMs(1, 1000), 100);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_LOG_MS, RECONNECT_MAX_MS, ReconnectBackoff } from './reconnect.js';

test('failed attempts wait longer, jittered, up to the cap; a connection resets the wait', () => {
  const mid = new ReconnectBackoff(2000, () => 0.5); // no jitter at 0.5
  assert.deepEqual(Array.from({ length: 8 }, () => mid.failed()), [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(mid.connected(), 2000);
  assert.equal(mid.failed(), 2000, 'the first retry after a working connection is quick again');
  const low = new ReconnectBackoff(2000, () => 0);
  const high = new ReconnectBackoff(2000, () => 0.999);
  assert.equal(low.failed(), 1500);
  const h = high.failed();
  assert.ok(h > 2400 && h <= 2500, `within ±25 %: ${h}`);
  // A short reconnectMs (tests, a LAN hub) caps at 30 times itself.
  const fast = new ReconnectBackoff(100, () => 0.5);
  assert.equal(Math.max(...Array.from({ length: 12 }, () => fast.failed())), 3000);
  assert.ok(RECONNECT_MAX_MS >= 60_000);
});

test('an error is logged when it changes, else once per ERROR_LOG_MS', () => {
  const b = new ReconnectBackoff(2000);
  assert.equal(b.shouldLog('connect ECONNREFUSED', 0), true);
  assert.equal(b.shouldLog('connect ECONNREFUSED', 2000), false);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000), true);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS - 1), false);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS), true);
  b.connected();
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS + 1), true, 'after a connection, the next loss is logged');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_LOG_MS, RECONNECT_MAX_MS, ReconnectBackoff } from './reconnect.js';

test('failed attempts wait longer, jittered, up to the cap; a connection that lasted resets the wait', () => {
  const mid = new ReconnectBackoff(2000, () => 0.5); // no jitter at 0.5
  assert.deepEqual(Array.from({ length: 8 }, () => mid.failed(0)), [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  mid.connected(1_000_000);
  assert.equal(mid.failed(1_060_000), 2000, 'the first retry after a connection that lasted the longest wait is quick again');
  const low = new ReconnectBackoff(2000, () => 0);
  const high = new ReconnectBackoff(2000, () => 0.999);
  assert.equal(low.failed(0), 1500);
  const h = high.failed(0);
  assert.ok(h > 2400 && h <= 2500, `within ±25 %: ${h}`);
  // A short reconnectMs (tests, a LAN hub) caps at 30 times itself.
  const fast = new ReconnectBackoff(100, () => 0.5);
  assert.equal(Math.max(...Array.from({ length: 12 }, () => fast.failed(0))), 3000);
  assert.ok(RECONNECT_MAX_MS >= 60_000);
});

test('a flapping link backs off: connections that drop within the longest wait count as failed attempts', () => {
  const b = new ReconnectBackoff(2000, () => 0.5);
  let t = 0;
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    b.connected(t);
    t += 1000; // up for a second, then cut
    const w = b.failed(t);
    waits.push(w);
    t += w;
  }
  assert.deepEqual(waits, [2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  b.connected(t);
  assert.equal(b.failed(t + 59_999), 60000, 'not yet stable');
  b.connected(t);
  assert.equal(b.failed(t + 60_000), 2000, 'a connection that lasted a minute resets it');
});

test('an error is logged when it changes, else once per ERROR_LOG_MS', () => {
  const b = new ReconnectBackoff(2000);
  assert.equal(b.shouldLog('connect ECONNREFUSED', 0), true);
  assert.equal(b.shouldLog('connect ECONNREFUSED', 2000), false);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000), true);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS - 1), false);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS), true);
  b.connected(0);
  assert.equal(b.shouldLog('Connection refused: Not authorized', 4000 + ERROR_LOG_MS + 1), true, 'after a connection, the next loss is logged');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECT_TIMEOUT_MAX_MS, CONNECT_TIMEOUT_MS, ConnectTimeout } from './connect-timeout.js';

test('an attempt that timed out doubles the next limit, up to the cap', () => {
  const t = new ConnectTimeout();
  assert.equal(t.ms, CONNECT_TIMEOUT_MS);
  const limits = Array.from({ length: 5 }, () => {
    t.attempt(0);
    return t.timedOut();
  });
  assert.deepEqual(limits, [20_000, 40_000, 60_000, 60_000, 60_000]);
  assert.equal(CONNECT_TIMEOUT_MAX_MS, 60_000);
});

test('a connection made sets the limit to twice what its attempt took, never below the base', () => {
  const t = new ConnectTimeout();
  t.attempt(0);
  t.timedOut();
  t.attempt(100_000);
  assert.equal(t.connected(113_000), 26_000, 'a slow link keeps the room it needed');
  t.attempt(200_000);
  assert.equal(t.connected(200_050), CONNECT_TIMEOUT_MS, 'a fast link comes back to the base');
  t.attempt(300_000);
  assert.equal(t.connected(345_000), CONNECT_TIMEOUT_MAX_MS, 'capped');
  assert.equal(t.connected(400_000), CONNECT_TIMEOUT_MAX_MS, 'a CONNACK with no attempt seen changes nothing');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeClockOffset } from './clock-offset.js';

test('clock offsets in words', () => {
  assert.equal(describeClockOffset(400 * 86_400_000), '400 days ahead of');
  assert.equal(describeClockOffset(-10 * 60_000), '10 min behind');
  assert.equal(describeClockOffset(2 * 3_600_000 + 1), '2 h ahead of');
  assert.equal(describeClockOffset(-45_000), '45 s behind');
  assert.equal(describeClockOffset(400), 'in step with');
});

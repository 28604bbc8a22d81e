import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countOf, formatCount } from './count-text.js';

test('formatCount puts a comma between thousands, whatever the locale', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1000), '1,000');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(-50000), '-50,000');
  assert.equal(formatCount(1234.5), '1,234.5');
  assert.equal(formatCount(Number.MAX_SAFE_INTEGER), '9,007,199,254,740,991');
  assert.equal(formatCount(Number.NaN), 'NaN');
  assert.equal(formatCount(1e21), '1e+21');
});

test('countOf says the noun, singular for one', () => {
  assert.equal(countOf(1, 'device'), '1 device');
  assert.equal(countOf(12000, 'device'), '12,000 devices');
  assert.equal(countOf(2, 'match', 'matches'), '2 matches');
});

// The time options' one reader (docs/cli.md "Times"): durations ago, dates, ISO date-times, and what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimeOption } from './time.js';

const now = new Date('2026-06-15T12:00:00.000Z');
const iso = (text: string, what = '--since') => parseTimeOption(text, now, what).toISOString();

test('a duration ago, a date (00:00 UTC) and an ISO date-time', () => {
  assert.equal(iso('90s'), '2026-06-15T11:58:30.000Z');
  assert.equal(iso('30m'), '2026-06-15T11:30:00.000Z');
  assert.equal(iso('24h'), '2026-06-14T12:00:00.000Z');
  assert.equal(iso('7d'), '2026-06-08T12:00:00.000Z');
  assert.equal(iso('2w'), '2026-06-01T12:00:00.000Z');
  assert.equal(iso('0m'), now.toISOString());
  assert.equal(iso('2026-01-01'), '2026-01-01T00:00:00.000Z');
  assert.equal(iso('2024-02-29'), '2024-02-29T00:00:00.000Z');
  assert.equal(iso('2026-01-01T12:00:00Z'), '2026-01-01T12:00:00.000Z');
  assert.equal(iso('2026-01-01T12:00:00.250+02:00'), '2026-01-01T10:00:00.250Z');
  assert.equal(iso('2026-01-01T12:00Z'), '2026-01-01T12:00:00.000Z');
  assert.equal(iso('2026-01-01 12:00:00Z'), '2026-01-01T12:00:00.000Z');
});

test('anything else is a bad command line naming the option, the forms accepted and the value', () => {
  for (const bad of ['yesterday', '2026-02-30', '2026-02-29', '2026-13-01', '2026-1-1', '2026-01-01T25:00Z', '01/02/2026', '5', '5y', '', 'Jan 1 2026']) {
    assert.throws(() => iso(bad, '--until'), (e: Error & { code?: string }) => e.code === 'BAD_REQUEST'
      && e.message === `--until: expected a duration ago (90s, 30m, 24h, 7d, 2w), a date (2026-01-01, from 00:00 UTC) or an ISO date-time (2026-01-01T12:00:00Z; without a zone, this machine's local time), got "${bad}"`, bad);
  }
  assert.throws(() => iso('-5m'), /^UsageError: --since: a duration already counts back from now: expected 5m, got "-5m"$|a duration already counts back from now: expected 5m, got "-5m"/);
});

// The operator CLI's own value parsers (expiry, role=N); its progress bar is tested in shared/src/cli/progress.test.ts.
// The shared command line itself is tested in shared/src/cli/dispatch.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpiry, parseRoleNumber, UsageError } from './args.js';

test('parseExpiry takes durations and future ISO dates, refuses the rest', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(parseExpiry('365d', now).toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(parseExpiry('12h', now).toISOString(), '2026-01-01T12:00:00.000Z');
  assert.equal(parseExpiry('2026-06-01T00:00:00Z', now).toISOString(), '2026-06-01T00:00:00.000Z');
  assert.throws(() => parseExpiry('2025-06-01T00:00:00Z', now), (e: unknown) => e instanceof UsageError && /in the past/.test(e.message));
  assert.throws(() => parseExpiry('soon', now), /expected a duration such as 365d/);
  assert.throws(() => parseExpiry('0d', now), /positive duration/);
});

test('parseRoleNumber reads role=N', () => {
  assert.deepEqual(parseRoleNumber('release=2', ['root', 'release', 'hub'], '--threshold'), ['release', 2]);
  assert.throws(() => parseRoleNumber('release=0', ['release'], '--threshold'), /positive integer/);
  assert.throws(() => parseRoleNumber('release', ['release'], '--threshold'), /expected ROLE=N/);
});

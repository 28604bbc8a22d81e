// LogThrottle (log-throttle.ts): a repeating failure is logged once an interval per message and error
// code, with how many were not logged since; another code or message is logged at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@edgefleet/shared';
import { LogThrottle } from './log-throttle.js';

test('a failure every second is logged once a minute with the count of the others; a new code at once', () => {
  let now = 0;
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const logger = { error: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
  const t = new LogThrottle(() => now);
  const down = new AppError('DATABASE_UNAVAILABLE', 'lost the connection to PostgreSQL');
  for (let s = 0; s < 150; s++) {
    now = s * 1000;
    t.error(logger, down, 'sending alert webhooks failed');
  }
  assert.deepEqual(lines.map((l) => [l.obj['unloggedBefore'], l.msg]), [
    [0, 'sending alert webhooks failed (logged once a minute while it repeats)'],
    [59, 'sending alert webhooks failed (logged once a minute while it repeats)'],
    [59, 'sending alert webhooks failed (logged once a minute while it repeats)'],
  ]);
  assert.equal(lines[0]?.obj['code'], 'DATABASE_UNAVAILABLE');
  t.error(logger, new AppError('INTERNAL', 'a bug'), 'sending alert webhooks failed');
  t.error(logger, down, 'stepping rollouts failed');
  assert.equal(lines.length, 5, 'another code, and another message, are logged at once');
});

test('at most maxKeys keys are remembered: the least recently logged is forgotten first', () => {
  const t = new LogThrottle(() => 0, 60_000, 2);
  assert.deepEqual(['a', 'b', 'b', 'c'].map((k) => t.take(k)), [0, 0, null, 0]);
  // 'a', logged first, was forgotten for 'c' and is logged again at once; 'c' is still within its minute.
  assert.deepEqual([t.take('c'), t.take('a')], [null, 0]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockOffset } from './clock-offset.js';

const T = Date.parse('2026-12-06T10:00:00Z');
const date = (ms: number) => new Date(ms).toUTCString(); // whole seconds, as an HTTP Date

test('unknown until an answer with a Date; a missing or unparsable one teaches nothing', () => {
  const c = new ClockOffset();
  assert.equal(c.ms(), 0);
  c.note(null, T, T + 10);
  c.note('not a date', T, T + 10);
  assert.equal(c.ms(), 0);
});

test('one answer places the offset within a second plus the round trip; more answers narrow it', () => {
  // The hub 2 h behind this computer, exactly: its clock reads T - 2h + 0.3 s when the first answer leaves.
  const off = -2 * 3600_000;
  const c = new ClockOffset();
  c.note(date(T + off + 300), T + 250, T + 350);
  assert.ok(Math.abs(c.ms() - off) <= 700, String(c.ms() - off));
  // Answers at other fractions of the hub's second: the bounds close in on the true offset.
  for (const frac of [10, 990, 500, 700, 100]) {
    const sent = T + 5000 + frac - 20;
    c.note(date(T + 5000 + frac + off), sent, sent + 40);
  }
  assert.ok(Math.abs(c.ms() - off) <= 60, String(c.ms() - off));
});

test('an answer outside the bounds (a clock was set) starts again from it', () => {
  const c = new ClockOffset();
  c.note(date(T), T - 10, T + 10);
  assert.ok(Math.abs(c.ms()) <= 1000);
  // This computer's clock set back by 10 min: the hub now looks 10 min ahead.
  c.note(date(T + 60_000), T + 60_000 - 600_000, T + 60_000 - 600_000 + 20);
  assert.ok(Math.abs(c.ms() - 600_000) <= 1000, String(c.ms()));
});

test('an answer received before it was sent (a clock stepped back mid-request) is ignored', () => {
  const c = new ClockOffset();
  c.note(date(T), T + 10, T);
  assert.equal(c.ms(), 0);
});

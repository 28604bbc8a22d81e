import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cronMatches, nextRun, parseCron } from './cron.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe('cron', () => {
  it('parses fields: *, lists, ranges, steps, Sunday as 0 or 7', () => {
    const c = parseCron('*/15 8-10,22 1 * 7');
    assert.deepEqual([...c.minutes], [0, 15, 30, 45]);
    assert.deepEqual([...c.hours], [8, 9, 10, 22]);
    assert.deepEqual([...c.weekdays], [0]);
    assert.deepEqual([...parseCron('5-20/5 * * * *').minutes], [5, 10, 15, 20]);
    assert.deepEqual([...parseCron('10/20 * * * *').minutes], [10, 30, 50]);
  });

  it('matches times in UTC, either day field when both are restricted', () => {
    const c = parseCron('30 12 1 * 1'); // the 1st of the month or a Monday, at 12:30
    assert.equal(cronMatches(c, at('2026-01-01T12:30:00Z')), true); // Thursday the 1st
    assert.equal(cronMatches(c, at('2026-01-05T12:30:59Z')), true); // Monday the 5th
    assert.equal(cronMatches(c, at('2026-01-06T12:30:00Z')), false);
    assert.equal(cronMatches(c, at('2026-01-05T12:31:00Z')), false);
  });

  it('finds the next run', () => {
    assert.equal(iso(nextRun(parseCron('* * * * *'), at('2026-01-01T00:00:30Z'))), '2026-01-01T00:01:00.000Z');
    assert.equal(iso(nextRun(parseCron('0 0 29 2 *'), at('2026-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
    assert.equal(iso(nextRun(parseCron('15 3 * * 0'), at('2026-01-01T00:00:00Z'))), '2026-01-04T03:15:00.000Z');
    assert.equal(nextRun(parseCron('0 0 31 2 *'), at('2026-01-01T00:00:00Z')), null);
  });

  it('nextRun agrees with a minute-by-minute scan', () => {
    const field = (max: number, min = 0) => fc.oneof(fc.constant('*'), fc.integer({ min, max }).map(String), fc.integer({ min: 1, max: 7 }).map((s) => `*/${s}`));
    fc.assert(fc.property(field(59), field(23), field(28, 1), fc.integer({ min: 0, max: 5e5 }), (mi, h, d, off) => {
      const c = parseCron(`${mi} ${h} ${d} * *`);
      const from = at('2026-01-01T00:00:00Z') + off * 60_000;
      const got = nextRun(c, from);
      let t = from - (from % 60_000) + 60_000;
      while (!cronMatches(c, t)) t += 60_000;
      assert.equal(got, t);
    }), { seed: 7, numRuns: 60 });
  });

  it('refuses bad expressions naming the field and what was expected', () => {
    assert.throws(() => parseCron('* * * *'), /has 4 fields: expected 5/);
    assert.throws(() => parseCron('60 * * * *'), /minute "60": expected values in 0-59/);
    assert.throws(() => parseCron('* * * * mon'), /day of week "mon": expected a number/);
    assert.throws(() => parseCron('*/0 * * * *'), /expected a step of at least 1/);
    assert.throws(() => parseCron('5-1 * * * *'), /low to high/);
  });
});

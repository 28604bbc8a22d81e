// The cron matcher in time zones (the UTC basics are in agent/src/batch/cron.test.ts): DST gaps and
// repeats, zones east and west and off the hour, ranges/steps/lists, windows, bad input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkTimeZone, describeWindow, localToInstant, nextRun, nextRunIn, parseCron, parseDurationSec, windowAt, zoneOffset } from './cron.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** Successive runs after `from`. */
function runs(expr: string, tz: string, from: string, n: number): Array<string | null> {
  const c = parseCron(expr);
  const out: Array<string | null> = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) {
    t = nextRunIn(c, t, tz);
    out.push(iso(t));
  }
  return out;
}

describe('cron in time zones', () => {
  it('reads local wall-clock time east and west of UTC and off the hour', () => {
    assert.deepEqual(runs('0 2 * * *', 'Europe/Berlin', '2026-01-10T00:00:00Z', 2), ['2026-01-10T01:00:00.000Z', '2026-01-11T01:00:00.000Z']); // CET +1
    assert.deepEqual(runs('0 2 * * *', 'Europe/Berlin', '2026-07-10T00:00:00Z', 1), ['2026-07-11T00:00:00.000Z']); // CEST +2: 02:00 = 00:00Z, just passed
    assert.deepEqual(runs('30 22 * * *', 'America/New_York', '2026-01-10T00:00:00Z', 1), ['2026-01-10T03:30:00.000Z']); // EST -5: 19:00 on the 9th -> 22:30
    assert.deepEqual(runs('0 9 * * *', 'Asia/Kolkata', '2026-01-10T00:00:00Z', 1), ['2026-01-10T03:30:00.000Z']); // +5:30
    assert.deepEqual(runs('0 0 * * *', 'Asia/Kathmandu', '2026-01-10T00:00:00Z', 1), ['2026-01-10T18:15:00.000Z']); // +5:45
  });

  it('a local time skipped by the spring-forward gap happens later by the gap (once that day)', () => {
    // Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z). 02:30 does not exist: it is 03:30 CEST = 01:30Z.
    assert.deepEqual(runs('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', 3), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    // 02:00 and 03:00 both land on 01:00Z that day: one opening, not two.
    assert.deepEqual(runs('0 2,3 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', 3), ['2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z', '2026-03-30T01:00:00.000Z']);
    // New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
    assert.deepEqual(runs('15 2 * * *', 'America/New_York', '2026-03-08T00:00:00Z', 1), ['2026-03-08T07:15:00.000Z']);
  });

  it('a local time repeated by the fall-back happens at its first occurrence only', () => {
    // Berlin: 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z); 02:30 comes twice (00:30Z and 01:30Z).
    assert.deepEqual(runs('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // Every 30 minutes across the repeated hour: 02:00, 02:30 once each, then 03:00 (02:00Z).
    assert.deepEqual(runs('*/30 * * * *', 'Europe/Berlin', '2026-10-24T23:45:00Z', 4), ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T02:30:00.000Z']);
    // Asked from inside the repeated hour (01:40Z = 02:40 CET, the second time): 02:50 happened at its
    // first occurrence (00:50Z), so the next is 03:00 CET.
    assert.equal(iso(nextRunIn(parseCron('*/10 * * * *'), at('2026-10-25T01:40:00Z'), 'Europe/Berlin')), '2026-10-25T02:00:00.000Z');
  });

  it('localToInstant and zoneOffset agree with Intl', () => {
    assert.equal(zoneOffset('Europe/Berlin', at('2026-01-01T00:00:00Z')), 3600_000);
    assert.equal(zoneOffset('Europe/Berlin', at('2026-07-01T00:00:00Z')), 7200_000);
    assert.equal(zoneOffset('America/New_York', at('2026-07-01T00:00:00Z')), -4 * 3600_000);
    assert.equal(iso(localToInstant('Europe/Berlin', at('2026-03-29T02:30:00Z'))), '2026-03-29T01:30:00.000Z'); // gap
    assert.equal(iso(localToInstant('Europe/Berlin', at('2026-10-25T02:30:00Z'))), '2026-10-25T00:30:00.000Z'); // repeat: first
  });

  it('lists, ranges and steps in a zone; both day fields restricted match either', () => {
    // Weekdays 1-5 at 01:00 and 03:00 local Berlin; 2026-01-09 is a Friday.
    assert.deepEqual(runs('0 1,3 * * 1-5', 'Europe/Berlin', '2026-01-09T01:00:00Z', 3), ['2026-01-09T02:00:00.000Z', '2026-01-12T00:00:00.000Z', '2026-01-12T02:00:00.000Z']);
    // Every 20 minutes from 10 past, in hours 4-6 New York.
    assert.deepEqual(runs('10-59/20 4-6 * * *', 'America/New_York', '2026-01-10T09:00:00Z', 4), ['2026-01-10T09:10:00.000Z', '2026-01-10T09:30:00.000Z', '2026-01-10T09:50:00.000Z', '2026-01-10T10:10:00.000Z']);
    // The 1st of the month or a Sunday, at midnight Tokyo (+9): 2026-02-01 is a Sunday, then 02-08.
    assert.deepEqual(runs('0 0 1 * 0', 'Asia/Tokyo', '2026-01-26T00:00:00Z', 3), ['2026-01-31T15:00:00.000Z', '2026-02-07T15:00:00.000Z', '2026-02-14T15:00:00.000Z']);
  });

  it('every returned run matches the expression in local time and none is skipped (minute scan)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
    fc.assert(fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 364 * 24 }), (tz, mi, h, hoursIn) => {
      const c = parseCron(`${mi} ${h} * * *`);
      const from = at('2026-01-01T00:00:00Z') + hoursIn * 3600_000;
      const got = nextRunIn(c, from, tz);
      assert.ok(got !== null && got > from && got - from <= 26 * 3600_000, `${tz} ${mi} ${h} from ${iso(from)}: ${iso(got)}`);
      // No instant between from and got has the local wall time mi:h as its first occurrence.
      for (let t = Math.floor(from / 60_000) * 60_000 + 60_000; t < got; t += 60_000) {
        const local = new Date(t + zoneOffset(tz, t));
        if (local.getUTCMinutes() === mi && local.getUTCHours() === h) assert.notEqual(localToInstant(tz, local.getTime()), t, `missed ${iso(t)}`);
      }
    }), { seed: 11, numRuns: 40 });
  });

  it('windows: open inside an opening and until it closes, else when the next opens', () => {
    const w = { cron: '0 2 * * *', durationSec: 7200, timeZone: 'Europe/Berlin' };
    assert.deepEqual(windowAt(w, at('2026-01-10T00:59:00Z')), { open: false, until: at('2026-01-10T01:00:00Z') });
    assert.deepEqual(windowAt(w, at('2026-01-10T01:00:00Z')), { open: true, until: at('2026-01-10T03:00:00Z') });
    assert.deepEqual(windowAt(w, at('2026-01-10T02:59:59Z')), { open: true, until: at('2026-01-10T03:00:00Z') });
    assert.deepEqual(windowAt(w, at('2026-01-10T03:00:00Z')), { open: false, until: at('2026-01-11T01:00:00Z') });
    // On the spring-forward day the window opens at 03:00 CEST (01:00Z) and lasts two real hours.
    assert.deepEqual(windowAt(w, at('2026-03-29T02:30:00Z')), { open: true, until: at('2026-03-29T03:00:00Z') });
    // Overlapping openings chain: every 30 min for 1 h is open from the first on.
    const chained = windowAt({ cron: '0,30 1-2 * * *', durationSec: 3600, timeZone: 'UTC' }, at('2026-01-10T01:10:00Z'));
    assert.deepEqual(chained, { open: true, until: at('2026-01-10T03:30:00Z') });
    assert.equal(describeWindow(w), '"0 2 * * *" for 2h in Europe/Berlin');
  });

  it('durations: 90s, 30m, 2h, 1d, 1h30m, a number of seconds; anything else is null', () => {
    assert.deepEqual(['90s', '30m', '2h', '1d', '1h30m', '600'].map(parseDurationSec), [90, 1800, 7200, 86400, 5400, 600]);
    assert.deepEqual(['', '2 hours', '-5', '1.5h', 'h'].map(parseDurationSec), [null, null, null, null, null]);
  });

  it('refuses bad input with a clear error', () => {
    assert.throws(() => checkTimeZone('Mars/Olympus'), /unknown time zone "Mars\/Olympus": expected an IANA name such as UTC, Europe\/Berlin/);
    assert.throws(() => nextRunIn(parseCron('0 2 * * *'), 0, 'Europe/Berlinn'), /unknown time zone "Europe\/Berlinn"/);
    assert.throws(() => parseCron('0 24 * * *'), /hour "24": expected values in 0-23/);
    assert.throws(() => parseCron('0 2 * *'), /has 4 fields: expected 5/);
    assert.throws(() => parseCron('0 2 31 2-1 *'), /month "2-1": expected values in 1-12, low to high/);
    assert.throws(() => parseCron('0 2 * * MON'), /day of week "MON": expected a number/);
    // Days no month it names has: accepted, it would never match (a window that never opens).
    assert.throws(() => parseCron('0 2 30 2 *'), /invalid cron expression "0 2 30 2 \*": never matches: no month it names \(2\) has day 30: expected a day-of-month those months have/);
    assert.throws(() => parseCron('0 2 31 4,6,9,11 *'), /never matches/);
    assert.equal(nextRun(parseCron('0 2 29 2 *'), Date.UTC(2026, 0, 1)), Date.UTC(2028, 1, 29, 2), 'the 29th of February: in a leap year');
    assert.ok(parseCron('0 2 30 2 1'), 'with a weekday it matches on Mondays in February');
    assert.ok(parseCron('0 2 31 1-2 *'), 'January has a 31st');
    // Never matching in a zone (parseCron refuses such an expression; built by hand here): null, not a loop.
    assert.equal(nextRunIn({ ...parseCron('0 0 1 2 *'), days: new Set([31]) }, at('2026-01-01T00:00:00Z'), 'Europe/Berlin'), null);
  });
});

// switchVerdict: the lock and the window together (pure; the wiring is in switch.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { switchVerdict } from './switch-gate.js';

const at = (s: string) => Date.parse(s);
const w = { cron: '0 2 * * *', durationSec: 7200, timeZone: 'Europe/Berlin' }; // 01:00-03:00Z in winter

describe('switchVerdict', () => {
  it('no lock, no window: at once; a window: only inside it', () => {
    assert.deepEqual(switchVerdict({ window: undefined, lock: null, now: at('2026-01-10T12:00:00Z') }), { ok: true });
    assert.deepEqual(switchVerdict({ window: w, lock: null, now: at('2026-01-10T01:30:00Z') }), { ok: true });
    const v = switchVerdict({ window: w, lock: null, now: at('2026-01-10T12:00:00Z') });
    assert.equal(v.ok, false);
    assert.deepEqual(!v.ok && [v.code, v.until], ['OUTSIDE_WINDOW', at('2026-01-11T01:00:00Z')]);
  });

  it('a lock defers until it ends, or until the window next opens after it', () => {
    const lock = { until: at('2026-01-10T01:30:00Z'), reason: 'shift', setAt: '2026-01-10T00:00:00Z' };
    const inside = switchVerdict({ window: w, lock, now: at('2026-01-10T01:00:00Z') });
    assert.deepEqual(!inside.ok && [inside.code, inside.until], ['UPDATE_LOCKED', lock.until], 'the window is still open when the lock ends');
    const late = { ...lock, until: at('2026-01-10T04:00:00Z') };
    const v = switchVerdict({ window: w, lock: late, now: at('2026-01-10T02:00:00Z') });
    assert.deepEqual(!v.ok && [v.code, v.until], ['UPDATE_LOCKED', at('2026-01-11T01:00:00Z')]);
    assert.match(!v.ok ? v.message : '', /update lock is in force until 2026-01-10T04:00:00.000Z \(shift\), then the maintenance window "0 2 \* \* \*" for 2h in Europe\/Berlin opens at 2026-01-11T01:00:00.000Z/);
    assert.deepEqual(switchVerdict({ window: undefined, lock: late, now: late.until }), { ok: true }, 'an expired lock holds nothing');
  });
});

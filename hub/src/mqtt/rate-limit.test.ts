// The connection limits and the takeover watch on a fake clock with injected addresses
// (docs/mqtt.md "Connection limits", "Credentials in use twice").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectRateLimiter, FailureLimiter } from './rate-limit.js';
import { TakeoverWatch } from './takeovers.js';
import { ConnectGuard } from './connect-guard.js';
import { RecordingLogger, RecordingMetrics } from './testing/devices.js';

function fakeClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  const c = { t: start, now: () => new Date(c.t) };
  return c;
}

describe('ConnectRateLimiter', () => {
  it('limits attempts per address and minute, and tracks at most maxKeys addresses however many come in a minute', () => {
    const clock = fakeClock();
    const l = new ConnectRateLimiter(2, clock, 3);
    assert.deepEqual([l.allow('a'), l.allow('a'), l.allow('a')], [true, true, false]);
    // Three more addresses within the same minute: the oldest window (a's) is forgotten, never more than 3.
    for (const addr of ['b', 'c', 'd']) assert.equal(l.allow(addr), true);
    assert.equal(l.size, 3);
    assert.equal(l.allow('a'), true, 'a was forgotten: a fresh window');
    assert.equal(l.size, 3);
    for (let i = 0; i < 1000; i++) l.allow(`x${i}`);
    assert.equal(l.size, 3);
    // A minute on, ended windows go from the front before anything is evicted.
    clock.t += 60_000;
    assert.equal(l.allow('z'), true);
    assert.equal(l.size, 1);
  });
});

describe('FailureLimiter', () => {
  it('locks a key after perMinute failures for the cool-down, then lets it try again', () => {
    const clock = fakeClock();
    const l = new FailureLimiter({ perMinute: 3, coolDownMs: 30_000, maxKeys: 10, name: 't' }, clock);
    assert.equal(l.fail('a'), false);
    assert.equal(l.fail('a'), false);
    assert.equal(l.lockedUntil('a'), null);
    assert.equal(l.fail('a'), true); // the third locks
    assert.equal(l.lockedUntil('a'), clock.t + 30_000);
    assert.equal(l.lockedUntil('b'), null);
    clock.t += 30_000;
    assert.equal(l.lockedUntil('a'), null);
  });

  it('failures in separate minutes do not add up', () => {
    const clock = fakeClock();
    const l = new FailureLimiter({ perMinute: 2, coolDownMs: 60_000, maxKeys: 10, name: 't' }, clock);
    for (let i = 0; i < 5; i++) {
      assert.equal(l.fail('a'), false);
      clock.t += 60_000;
    }
    assert.equal(l.lockedUntil('a'), null);
  });

  it('tracks at most maxKeys keys, forgetting the least recently failed', () => {
    const clock = fakeClock();
    const l = new FailureLimiter({ perMinute: 1, coolDownMs: 60_000, maxKeys: 100, name: 't' }, clock);
    l.fail('first'); // locked
    for (let i = 0; i < 99; i++) l.fail(`id-${i}`);
    assert.equal(l.size(), 100);
    assert.notEqual(l.lockedUntil('first'), null);
    l.fail('one-more');
    assert.equal(l.size(), 100);
    assert.equal(l.lockedUntil('first'), null); // forgotten: the bound holds
  });

  it('refuses bad settings with the setting named', () => {
    assert.throws(() => new FailureLimiter({ perMinute: 0, coolDownMs: 1, maxKeys: 1, name: 'x' }, fakeClock()), /x\.perMinute must be a positive integer, got 0/);
    assert.throws(() => new FailureLimiter({ perMinute: 1, coolDownMs: -1, maxKeys: 1, name: 'x' }, fakeClock()), /x\.coolDownMs/);
  });
});

describe('ConnectGuard', () => {
  it('locks the id that fails, from every address, and not its neighbours behind the same address', () => {
    const clock = fakeClock();
    const metrics = new RecordingMetrics();
    const g = new ConnectGuard({ limits: { perAddressPerMinute: 10_000, failuresPerIdPerMinute: 10, coolDownMs: 60_000 }, metrics, logger: new RecordingLogger(), clock });
    for (let i = 0; i < 800; i++) {
      assert.equal(g.admitAddress('10.0.0.1'), null, `attempt ${i}`);
      if (g.admitId('dev-a') === null) g.failed('dev-a', '10.0.0.1');
    }
    assert.match(g.admitId('dev-a') ?? '', /dev-a: too many failed authentications, try again after 2026-01-01T00:01:00\.000Z/);
    assert.equal(g.admitAddress('10.0.0.1'), null); // the NAT address is not locked (10 checked failures)
    assert.equal(g.admitId('dev-b'), null); // the neighbour
    assert.equal(g.admitAddress('10.9.9.9'), null);
    assert.notEqual(g.admitId('dev-a'), null); // from another address too: the lock is the id's
    assert.equal(metrics.counters.get('edgefleet_mqtt_locked_total{"scope":"device"}'), 1);
    clock.t += 60_000;
    assert.equal(g.admitId('dev-a'), null);
  });

  it('locks an address whose failures spread over many ids', () => {
    const clock = fakeClock();
    const metrics = new RecordingMetrics();
    const g = new ConnectGuard({ limits: { perAddressPerMinute: 10_000, failuresPerAddressPerMinute: 50 }, metrics, logger: new RecordingLogger(), clock });
    for (let i = 0; i < 50; i++) g.failed(`guess-${i}`, '10.0.0.2');
    assert.match(g.admitAddress('10.0.0.2') ?? '', /too many failed authentications from 10\.0\.0\.2/);
    assert.equal(g.admitAddress('10.0.0.3'), null);
    assert.equal(metrics.counters.get('edgefleet_mqtt_locked_total{"scope":"address"}'), 1);
  });

  it('still limits all attempts per address (flood guard)', () => {
    const g = new ConnectGuard({ limits: { perAddressPerMinute: 3 }, metrics: new RecordingMetrics(), logger: new RecordingLogger(), clock: fakeClock() });
    for (let i = 0; i < 3; i++) assert.equal(g.admitAddress('10.0.0.4'), null);
    assert.match(g.admitAddress('10.0.0.4') ?? '', /too many connection attempts from 10\.0\.0\.4: at most 3 a minute/);
  });
});

describe('TakeoverWatch', () => {
  it('reports 3 takeovers within a minute, once per interval; not one honest reconnect', () => {
    const clock = fakeClock();
    const w = new TakeoverWatch({ threshold: 3, windowMs: 60_000, reportIntervalMs: 600_000, maxDevices: 10 }, clock);
    assert.equal(w.takeover('d'), null); // a reconnect over a half-open link
    clock.t += 61_000;
    assert.equal(w.takeover('d'), null);
    clock.t += 5_000;
    assert.equal(w.takeover('d'), null);
    clock.t += 5_000;
    assert.deepEqual(w.takeover('d'), { at: '2026-01-01T00:01:11.000Z', takeovers: 3 });
    clock.t += 5_000;
    assert.equal(w.takeover('d'), null); // reported already in this interval
    assert.deepEqual(w.last('d'), { at: '2026-01-01T00:01:11.000Z', takeovers: 3 });
    clock.t += 600_000;
    for (let i = 0; i < 2; i++) w.takeover('d');
    assert.equal(w.takeover('d')?.at, '2026-01-01T00:11:16.000Z');
  });

  it('tracks at most maxDevices devices', () => {
    const w = new TakeoverWatch({ threshold: 3, windowMs: 60_000, reportIntervalMs: 600_000, maxDevices: 5 }, fakeClock());
    for (let i = 0; i < 3; i++) w.takeover('old');
    assert.notEqual(w.last('old'), null);
    for (let i = 0; i < 5; i++) w.takeover(`d-${i}`);
    assert.equal(w.size(), 5);
    assert.equal(w.last('old'), null);
  });
});

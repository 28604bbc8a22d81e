// The event bus's ring: holds at most `capacity` events, resumes exactly after an id it still holds,
// resets otherwise; a listener that throws is dropped without failing the publisher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from './bus.js';

const presence = (deviceId: string) => ({ deviceId, online: true, at: '2026-01-01T00:00:00Z' });

test('the ring is bounded; since() returns exactly the missed events or a reset', () => {
  const bus = new EventBus({ capacity: 3 }, undefined, 'abc');
  assert.deepEqual(bus.since('abc-0'), { events: [] });
  for (const d of ['a', 'b', 'c', 'd', 'e']) bus.publish('device.presence', presence(d));
  const ids = (r: ReturnType<EventBus['since']>) => ('events' in r ? r.events.map((e) => e.id) : r.reset.reason);
  assert.deepEqual(ids(bus.since('abc-2')), ['abc-3', 'abc-4', 'abc-5']);
  assert.deepEqual(ids(bus.since('abc-4')), ['abc-5']);
  assert.deepEqual(ids(bus.since('abc-5')), []);
  assert.equal(ids(bus.since('abc-1')), 'too_old');
  assert.equal(ids(bus.since('abc-9')), 'unknown_epoch', 'an id from the future is another run');
  assert.equal(ids(bus.since('zzz-2')), 'unknown_epoch');
  assert.equal(ids(bus.since('garbage')), 'bad_id');
  assert.throws(() => new EventBus({ capacity: 0 }), /capacity 0: expected a positive integer/);
});

test('a throwing listener is dropped and reported; the others still get every event', () => {
  const errors: unknown[] = [];
  const bus = new EventBus({}, (e) => errors.push(e));
  const got: string[] = [];
  bus.subscribe(() => { throw new Error('boom'); });
  bus.subscribe((e) => got.push(e.id));
  bus.publish('device.presence', presence('a'));
  bus.publish('device.presence', presence('b'));
  assert.equal(got.length, 2);
  assert.equal(errors.length, 1);
  assert.equal(bus.listenerCount, 1);
});

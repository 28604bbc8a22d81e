// The per-model limiter's limits changed while requests run and wait (remote configuration,
// docs/agent.md "Remote configuration"): a higher limit lets waiters run at once, a lower one takes
// effect as runs finish, and the queue bound applies to requests that arrive after the change. A waiter
// withdrawn (its client has gone) leaves the queue without being granted a slot.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter, Waiter } from './limiter.js';

it('takes new limits live: raised at once, lowered as runs finish', async () => {
  const l = new Limiter(1, 2, 'm');
  assert.equal(l.acquire(), undefined);
  let ran = 0;
  const waiters = [l.acquire(), l.acquire()].map((p) => p!.then(() => ran++));
  assert.throws(() => l.acquire(), /OVERLOADED|overloaded/, 'queue of 2 is full');
  l.setLimits(3, 2);
  await Promise.all(waiters);
  assert.equal(ran, 2, 'both waiters run under the raised limit');
  assert.equal(l.active, 3);

  l.setLimits(1, 0);
  l.release();
  l.release();
  assert.equal(l.active, 1, 'two finished runs were not handed on');
  assert.ok(l.full, 'queue 0 and the one slot taken: the next request is shed');
  assert.throws(() => l.acquire(), /overloaded/);
  l.release();
  assert.equal(l.active, 0);
  assert.equal(l.acquire(), undefined, 'a slot again');
});

it('withdraws a waiter from anywhere in the queue: it is never granted, the others are in order', () => {
  const l = new Limiter(1, 3, 'm');
  assert.ok(l.tryAcquire());
  const granted: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new Waiter(() => granted.push(n)));
  for (const w of [a!, b!, c!]) l.enqueue(w);
  assert.ok(l.full);
  assert.equal(l.withdraw(b!), true);
  assert.equal(l.withdraw(b!), false, 'once');
  assert.equal(l.depth, 2);
  assert.ok(!l.full, 'its place is free for another request');
  l.release();
  assert.deepEqual(granted, ['a']);
  assert.equal(l.withdraw(a!), false, 'granted: it holds the slot');
  assert.equal(l.withdraw(c!), true, 'the last one');
  assert.equal(l.depth, 0);
  l.release();
  assert.deepEqual(granted, ['a']);
  assert.equal(l.active, 0, 'no one waits: the slot is free');
  const d = new Waiter(() => granted.push('d'));
  assert.ok(l.tryAcquire());
  l.enqueue(d);
  l.release();
  assert.deepEqual(granted, ['a', 'd'], 'the queue works after emptying from both ends');
});

// withDeadline / settleWithin: a result or failure inside the deadline passes through; past it, a
// DeadlineError names what was awaited, and the late failure of the work is not an unhandled rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineError, settleWithin, withDeadline } from './deadline.js';

test('withDeadline passes a result or a failure that comes in time', async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 1000, 'seven'), 7);
  assert.equal(await withDeadline(8, 1000, 'a plain value'), 8);
  await assert.rejects(withDeadline(Promise.reject(new Error('boom')), 1000, 'boom'), /^Error: boom$/);
});

test('withDeadline rejects naming the work when it does not settle in time; a later rejection is not unhandled', async (t) => {
  const unhandled: unknown[] = [];
  const on = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', on);
  t.after(() => process.off('unhandledRejection', on));
  let fail!: (err: Error) => void;
  const late = new Promise<never>((_, reject) => { fail = reject; });
  const err = await withDeadline(late, 20, 'publishing offline presence').catch((e: unknown) => e);
  assert.ok(err instanceof DeadlineError);
  assert.equal(err.message, 'publishing offline presence did not finish within 20 ms');
  fail(new Error('connection reset'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(unhandled, []);
});

test('settleWithin never rejects: failures and missed deadlines go to onFail', async () => {
  const seen: string[] = [];
  await settleWithin(Promise.resolve(), 1000, 'ok', (e) => seen.push(String(e)));
  await settleWithin(Promise.reject(new Error('closed')), 1000, 'closing', (e) => seen.push((e as Error).message));
  await settleWithin(new Promise(() => undefined), 10, 'a hub that never answers', (e) => seen.push((e as Error).message));
  assert.deepEqual(seen, ['closed', 'a hub that never answers did not finish within 10 ms']);
});

// waitFor: returns the first value a check gives, names what it waited for and the last error when the
// deadline passes, and ends at the deadline even when a check never returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './wait.js';

test('waitFor returns the first value that is neither undefined nor false', async () => {
  let n = 0;
  assert.equal(await waitFor('the third call', () => (++n === 3 ? 'three' : n === 1 ? false : undefined), { intervalMs: 1 }), 'three');
  assert.equal(n, 3);
});

test('waitFor names what it waited for and the last error after the deadline', async () => {
  await assert.rejects(
    waitFor('a thing', () => { throw new Error('not yet'); }, { timeoutMs: 30, intervalMs: 5 }),
    /^Error: timed out after 30 ms waiting for a thing \(last error: not yet\)$/,
  );
});

test('waitFor ends soon after its deadline when a check never returns, saying so', async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor('an answer', () => new Promise<string>(() => undefined), { timeoutMs: 20, stuckGraceMs: 10 }),
    /timed out after 20 ms waiting for an answer \(the last check had not returned\)/,
  );
  assert.ok(Date.now() - started < 10_000, 'not held until some outer timeout');
});

test('waitFor adds what explain says to a timeout, and names explain\'s own failure or hang instead', async () => {
  await assert.rejects(
    waitFor('a row', () => undefined, { timeoutMs: 20, intervalMs: 5, explain: async () => 'rows: []' }),
    (err: Error) => err.message === 'timed out after 20 ms waiting for a row\nrows: []' && /timed out after 20 ms/.test((err.cause as Error).message),
  );
  await assert.rejects(
    waitFor('a row', () => undefined, { timeoutMs: 20, intervalMs: 5, explain: () => { throw new Error('db closed'); } }),
    /^Error: timed out after 20 ms waiting for a row\n\(explaining failed: db closed\)$/,
  );
  await assert.rejects(
    waitFor('a row', () => undefined, { timeoutMs: 20, intervalMs: 5, explain: () => new Promise<string>(() => undefined), explainMs: 30 }),
    /^Error: timed out after 20 ms waiting for a row\n\(explaining took over 30 ms\)$/,
  );
  // A wait that succeeds never asks.
  let asked = 0;
  assert.equal(await waitFor('a value', () => 'v', { explain: () => String(++asked) }), 'v');
  assert.equal(asked, 0);
});

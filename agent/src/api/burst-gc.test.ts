import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstGc } from './burst-gc.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('collects once after enough large bodies and a quiet period; small bodies and busy periods do not', async () => {
  let runs = 0;
  const inflight = { bytes: 0 };
  const g = new BurstGc(inflight, { minBodyBytes: 100, thresholdBytes: 1_000, quietMs: 20 }, () => { runs++; });
  for (let i = 0; i < 50; i++) g.released(99); // ordinary traffic never counts
  assert.equal(g.pending, false);
  g.released(600);
  assert.equal(g.pending, false, 'below the threshold');
  g.released(600);
  assert.equal(g.pending, true);
  inflight.bytes = 500; // a body is being read: wait for the quiet
  await wait(40);
  assert.equal(runs, 0);
  inflight.bytes = 0;
  await wait(40);
  assert.equal(runs, 1);
  assert.equal(g.pending, false);
  g.released(600);
  await wait(40);
  assert.equal(runs, 1, 'the count starts again after a collection');
});

test('does nothing without --expose-gc', () => {
  const g = new BurstGc({ bytes: 0 }, { minBodyBytes: 1, thresholdBytes: 1 }, undefined);
  g.released(10);
  assert.equal(g.pending, false);
});

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { BurstGc } from './burst-gc.js';

// A fake clock for the timers: the quiet periods are exact, not at the mercy of a loaded box.
test('collects once after enough large bodies and a quiet period, and once more a quiet period later', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let runs = 0;
    const inflight = { bytes: 0 };
    const g = new BurstGc(inflight, { minBodyBytes: 100, thresholdBytes: 1_000, quietMs: 50 }, () => { runs++; });
    for (let i = 0; i < 50; i++) g.released(99); // ordinary traffic never counts
    assert.equal(g.pending, false);
    g.released(600);
    assert.equal(g.pending, false, 'below the threshold');
    g.released(600);
    assert.equal(g.pending, true);
    inflight.bytes = 500; // a body is being read: wait for the quiet
    mock.timers.tick(50);
    assert.equal(runs, 0);
    inflight.bytes = 0;
    mock.timers.tick(50);
    assert.equal(runs, 1);
    assert.equal(g.pending, false);
    mock.timers.tick(50);
    assert.equal(runs, 2, 'once more a quiet period later: what the burst let go after the first');
    mock.timers.tick(500);
    assert.equal(runs, 2, 'and no more');
    g.released(600);
    mock.timers.tick(500);
    assert.equal(runs, 2, 'the count starts again after a collection');
  } finally {
    mock.timers.reset();
  }
});

test('a burst during the follow-up wait replaces it with its own collection; a busy follow-up is skipped', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let runs = 0;
    const inflight = { bytes: 0 };
    const g = new BurstGc(inflight, { minBodyBytes: 100, thresholdBytes: 1_000, quietMs: 50 }, () => { runs++; });
    g.released(1_000);
    mock.timers.tick(50);
    assert.equal(runs, 1);
    mock.timers.tick(25);
    g.released(1_000); // the follow-up (due at 100) is dropped; this burst's collection is due at 125
    mock.timers.tick(25);
    assert.equal(runs, 1, 'the follow-up did not run');
    mock.timers.tick(25);
    assert.equal(runs, 2, 'the new burst\'s collection');
    inflight.bytes = 10; // busy when its follow-up is due: skipped (the next burst collects)
    mock.timers.tick(50);
    assert.equal(runs, 2);
  } finally {
    mock.timers.reset();
  }
});

test('does nothing without --expose-gc', () => {
  const g = new BurstGc({ bytes: 0 }, { minBodyBytes: 1, thresholdBytes: 1 }, undefined);
  g.released(10);
  assert.equal(g.pending, false);
});

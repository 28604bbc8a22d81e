// Hub.stop()'s deadlines together (stop-deadlines.ts StopBudget, docs/hub.md "Stopping"): when every step runs to
// its own deadline (their sum is ~12 s), the budget cuts the late ones so the stop ends before main.ts's exit by force,
// with the broker's floor kept for closing the broker and its connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HUB_STOP_BROKER_FLOOR_MS, HUB_STOP_EXIT_MS, HUB_STOP_MS, HUB_STOP_STEP_MS, StopBudget } from './stop-deadlines.js';

/** The steps of Hub.stop() that wait, in its order (hub.ts): the HTTP server, the lease, alerts, five parts, the broker. */
const STEPS = [HUB_STOP_STEP_MS.http, HUB_STOP_STEP_MS.lease, HUB_STOP_STEP_MS.alerts, ...Array<number>(5).fill(HUB_STOP_STEP_MS.part)];

test('every step hung to its deadline: the stop ends within HUB_STOP_MS, before the exit by force, and the broker keeps its floor', () => {
  assert.ok(STEPS.reduce((a, b) => a + b, 0) + HUB_STOP_STEP_MS.broker > HUB_STOP_EXIT_MS, 'the steps\' own deadlines alone would pass the exit');
  let now = 0;
  const budget = new StopBudget(() => now);
  const given: number[] = [];
  for (const ms of STEPS) {
    const got = budget.ms(ms, HUB_STOP_BROKER_FLOOR_MS);
    given.push(got);
    now += got; // the step hangs until its deadline
  }
  const broker = budget.ms(HUB_STOP_STEP_MS.broker);
  now += broker;
  assert.ok(now <= HUB_STOP_MS, `the stop took ${now} ms: expected at most ${HUB_STOP_MS}`);
  assert.ok(HUB_STOP_MS < HUB_STOP_EXIT_MS, 'the budget ends before the exit by force');
  assert.ok(broker >= HUB_STOP_BROKER_FLOOR_MS, `the broker got ${broker} ms`);
  // The first steps get their own deadlines; the late ones are cut, none below zero.
  assert.deepEqual(given.slice(0, 3), [HUB_STOP_STEP_MS.http, HUB_STOP_STEP_MS.lease, HUB_STOP_STEP_MS.alerts]);
  assert.ok(given.every((g) => g >= 0) && given.at(-1) === 0, given.join(', '));
});

test('steps that end at once leave the later ones their own deadlines', () => {
  let now = 0;
  const budget = new StopBudget(() => now);
  now += 30;
  assert.equal(budget.ms(HUB_STOP_STEP_MS.part, HUB_STOP_BROKER_FLOOR_MS), HUB_STOP_STEP_MS.part);
  assert.equal(budget.ms(HUB_STOP_STEP_MS.broker), HUB_STOP_STEP_MS.broker);
  now = HUB_STOP_MS + 5; // past the end: no wait at all
  assert.equal(budget.ms(HUB_STOP_STEP_MS.broker), 0);
});

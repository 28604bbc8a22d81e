// groupedSave (saver.ts): feedback requests arriving together share one save of the open windows, each
// answered only after a save that began after its call; a failed save fails its waiters, not the process.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { groupedSave } from './saver.js';

it('shares one save among the calls made before it runs, and runs again for later calls', async () => {
  let saves = 0;
  const saved = groupedSave(() => { saves++; }, 5);
  await Promise.all(Array.from({ length: 50 }, () => saved()));
  assert.equal(saves, 1);
  await saved();
  assert.equal(saves, 2);
});

it('rejects the waiters of a save that throws; the next call saves again', async () => {
  let fail = true;
  const saved = groupedSave(() => { if (fail) throw new Error('disk I/O error'); }, 1);
  await assert.rejects(Promise.all([saved(), saved()]), /disk I\/O error/);
  fail = false;
  await saved();
});
